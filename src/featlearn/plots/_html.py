"""HTML pieces of the report: the page, tables, notes, captions, folded sections and figures."""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
th {{ background: #f2f2f2; }}
img {{ max-width: 100%; }}
figure {{ margin: 0.5em 0; }}
pre {{ background: #f7f7f7; border: 1px solid #ddd; padding: 0.5em 1em; font-size: 12px; }}
details > summary {{ cursor: pointer; font-weight: 600; margin: 0.6em 0; }}
.note {{ color: #8a5a00; }}
.banner {{ background: #fff4d6; border: 1px solid #e0b84c; padding: 0.6em 1em; }}
.caption {{ color: #444; font-size: 13px; max-width: 60em; margin-top: -0.3em; }}
</style></head><body>
<h1>{title}</h1>
{body}
</body></html>
"""


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def cell(value: Any, precise: bool) -> str:
    """One table cell: integers (also integral floats of config fields, stored as Int64) without
    ``.0``; other floats by repr (``precise``: exactly the stored value) or to 6 digits."""
    if _missing(value):
        return ""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return html.escape(str(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value)) if precise else f"{float(value):.6g}"


def table(df: pd.DataFrame, table_id: str, *, precise: bool = False) -> str:
    """An HTML table; numbers as repr (``precise``: exactly the stored floats) or 6 digits."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(v, precise)}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def caption(text: str) -> str:
    return f'<p class="caption">{html.escape(text)}</p>'


def folded(summary: str, content: str, *, open_: bool = False) -> str:
    """``content`` under a <details> heading (closed unless ``open_``); ``summary`` is escaped."""
    flag = " open" if open_ else ""
    return f"<details{flag}><summary>{html.escape(summary)}</summary>{content}</details>"


class Figures:
    """Saves each figure as PNG and PDF in ``out`` and returns its embedded <img> tag."""

    def __init__(self, out: Path):
        self.out, self.png, self.pdf = out, [], []

    def add(self, fig: Any, stem: str, alt: str) -> str:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        png, pdf = self.out / f"{stem}.png", self.out / f"{stem}.pdf"
        png.write_bytes(buf.getvalue())
        fig.savefig(pdf, format="pdf")
        self.png.append(str(png))
        self.pdf.append(str(pdf))
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'
