"""One self-contained HTML report of a results store; every figure also as PNG and PDF.

The page holds, per experiment in the store: risk vs n for each d with the kernel staircase,
thresholds n*(d) with fitted exponents and intervals, alignment vs n, the medians over replicates
and every stored record; then the failed cells. Figures are embedded as base64 PNG, so the page
needs no other file. What cannot be drawn (no n column, fewer than two d crossing eps...) is said
in the page instead of failing.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from featlearn.plots._claims import claims_section
from featlearn.plots._figures import (
    _given,
    alignment_figure,
    facet_label,
    risk_figure,
    threshold_figure,
)
from featlearn.runtime import results_frame

__all__ = ["write_report"]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
th {{ background: #f2f2f2; }}
img {{ max-width: 100%; }}
.note {{ color: #8a5a00; }}
.banner {{ background: #fff4d6; border: 1px solid #e0b84c; padding: 0.6em 1em; }}
.caption {{ color: #444; font-size: 13px; max-width: 60em; margin-top: -0.3em; }}
</style></head><body>
<h1>{title}</h1>
{body}
</body></html>
"""


def _cell(value: Any, precise: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return html.escape(str(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value)) if precise else f"{float(value):.6g}"


def _table(df: pd.DataFrame, table_id: str, *, precise: bool = False) -> str:
    """An HTML table; numbers as repr (``precise``: exactly the stored floats) or 6 digits."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v, precise)}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


class _Figures:
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


_NOT_FACETS = ("pair_seed", "degrees")


def _prepare(
    df: pd.DataFrame, attrs: dict[str, list[str]]
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Keep this experiment's columns; lists/dicts in config columns as JSON text (groupable);
    return (table, varying config columns, numeric scalar metric columns)."""
    df = df.dropna(axis=1, how="all").copy()
    config = [c for c in attrs.get("config_columns", []) if c in df]
    for c in config:
        if df[c].map(lambda v: isinstance(v, list | dict)).any():
            df[c] = df[c].map(
                lambda v: json.dumps(v, sort_keys=True) if isinstance(v, list | dict) else v
            )
    # a paired curve's seed is a replicate index, and `degrees` a measurement switch: neither is
    # a setting to facet on
    varying = [c for c in config if c not in _NOT_FACETS and df[c].nunique(dropna=False) > 1]
    # a nested field flattened into dotted columns: facet on the leaves, not on the parent too
    varying = [c for c in varying if not any(v.startswith(f"{c}.") for v in varying)]
    numeric = []
    for c in (c for c in attrs.get("metric_columns", []) if c in df):
        if df[c].map(lambda v: isinstance(v, list | dict | str)).any():
            continue
        df[c] = pd.to_numeric(df[c], errors="coerce")
        numeric.append(c)
    return df, varying, numeric


def _per_level(data, eps, facets, y, thresholds, fit_exponent_from_runs):
    """Thresholds and exponents at one level eps, or at each learner's level (column ``eps``)."""
    if isinstance(eps, Mapping) and "learner" not in data:
        eps = 0.1
    if not isinstance(eps, Mapping):
        th = thresholds(data, eps, by=[*facets, "d"], x="n", y=y)
        return th, fit_exponent_from_runs(data, eps, by=facets, d="d", x="n", y=y, n_boot=500)
    ths, fits = [], []
    for learner, group in data.groupby("learner", sort=True):
        level = eps.get(learner, 0.1)
        th = thresholds(group, level, by=[*facets, "d"], x="n", y=y)
        fit = fit_exponent_from_runs(group, level, by=facets, d="d", x="n", y=y, n_boot=500)
        ths.append(th.assign(eps=level))
        fits.append(fit.assign(eps=level))
    return pd.concat(ths, ignore_index=True), pd.concat(fits, ignore_index=True)


def _thresholds_section(df, facets, y, eps, figures, stem) -> list[str]:
    try:
        from featlearn.experiments import fit_exponent_from_runs, thresholds
    except ImportError:
        return [_note("Threshold analysis is not available in this featlearn installation.")]
    from featlearn._errors import FeatlearnError

    taken = {"k", "intercept", "ci_low", "ci_high", "n_points", "method", "level", "n_star"}
    taken |= {"n_censored", "n_boot_used", "censored", "bound"}
    renamed = {f: f"{f} (config)" for f in facets if f in taken}  # keep analysis columns apart
    data = df.dropna(subset=[y]).rename(columns=renamed)
    facets = [renamed.get(f, f) for f in facets]
    try:
        th, fits = _per_level(data, eps, facets, y, thresholds, fit_exponent_from_runs)
    except FeatlearnError as exc:
        return [_note(f"No thresholds: {exc}")]
    shown = (
        f"{eps:g}" if not isinstance(eps, Mapping) else "eps (column eps: one level per learner)"
    )
    parts = [
        f"<h3>Thresholds n*(d): smallest n with median {html.escape(y)} &le; {html.escape(shown)}</h3>"
    ]
    groups = fits.groupby(facets, sort=True) if facets else [((), fits)]
    lacking = [facet_label(facets, k) for k, g in groups if not np.isfinite(g["k"].iloc[0])]
    for label in lacking:
        parts.append(
            _note(f"{label}: fewer than 2 dimensions d reach {y} <= {shown}; no exponent.")
        )
    if len(lacking) < len(fits):
        fig = threshold_figure(
            th, fits, facets, eps=eps if not isinstance(eps, Mapping) else math.nan
        )
        parts.append(figures.add(fig, f"{stem}thresholds", "thresholds n*(d)"))
    else:
        parts.append(
            _note("No threshold figure: no group has 2 or more dimensions d crossing eps.")
        )
    parts.append(_table(th, f"thresholds-{stem}".rstrip("-")))
    parts.append("<h3>Exponents k in n* &prop; d^k (interval: replicate bootstrap)</h3>")
    parts.append(_table(fits, f"exponents-{stem}".rstrip("-")))
    return parts


def _experiment_section(name, df, attrs, eps, figures, stem) -> list[str]:
    df, varying, numeric = _prepare(df, attrs)
    facets = [c for c in varying if c not in ("n", "d")]
    for c in facets:  # group labels: a field a case leaves unset is "", so no row is dropped
        df[c] = df[c].map(lambda v: str(v) if _given(v) else "")
    parts = [f"<h2>Experiment {html.escape(name)}: {len(df)} stored cells</h2>"]
    if varying:
        parts.append(f"<p>Varying fields: {html.escape(', '.join(varying))}.</p>")
    y = next((c for c in ("relative_risk", "excess_risk") if c in numeric), None)
    if y and "n" in df:
        data = df.dropna(subset=[y])
        fig = risk_figure(data, facets, y=y)
        parts.append(
            f"<h3>{html.escape(y)} vs n (median, 25-75% bars; dashed: kernel staircase)</h3>"
        )
        parts.append(figures.add(fig, f"{stem}risk_vs_n", f"{y} vs n"))
        if "d" in df:
            parts.extend(_thresholds_section(df, facets, y, eps, figures, stem))
    else:
        parts.append(_note("No risk-vs-n figure: the records have no n or risk column."))
    if "alignment" in numeric and "n" in df and df["alignment"].notna().any():
        data = df.dropna(subset=["alignment"])
        parts.append("<h3>alignment vs n</h3>")
        parts.append(
            figures.add(alignment_figure(data, facets), f"{stem}alignment_vs_n", "alignment")
        )
    keys = varying or []
    medians = (
        df.groupby(keys, sort=True, dropna=False)[numeric].median()
        if keys
        else df[numeric].median().to_frame().T
    )
    counts = df.groupby(keys, sort=True, dropna=False).size() if keys else pd.Series([len(df)])
    medians.insert(0, "replicates", counts.to_numpy())
    parts.append("<h3>Medians over replicates</h3>")
    parts.append(_table(medians.reset_index() if keys else medians, f"medians-{stem}".rstrip("-")))
    records = df[["hash", "replicate", "seed", *varying, *numeric]].copy()
    records["hash"] = records["hash"].str[:12]
    parts.append(f"<details><summary>All {len(df)} stored records (exact values)</summary>")
    parts.append(_table(records, f"records-{stem}".rstrip("-"), precise=True) + "</details>")
    return parts


def _stem(frame: pd.DataFrame, experiment: str, sweep: str | None) -> str:
    """File-name prefix of a section's figures: empty when the store holds one experiment."""
    stem = "" if frame["experiment"].nunique() == 1 else f"{experiment.replace(':', '_')}-"
    return stem + (re.sub(r"[^A-Za-z0-9_.-]+", "_", sweep) + "-" if sweep else "")


def _overview(frame: pd.DataFrame, store: str | Path) -> str:
    ok, failed = int((frame["status"] == "ok").sum()), int((frame["status"] == "failed").sum())
    info = {
        "store": str(store),
        "cells ok / failed": f"{ok} / {failed}",
        "experiments": ", ".join(sorted(map(str, frame["experiment"].unique()))),
        "sweeps": ", ".join(sorted(map(str, frame["sweep"].dropna().unique()))),
        "git revisions": ", ".join(sorted(map(str, frame["git"].dropna().unique()))) or "unknown",
        "hosts": ", ".join(sorted(map(str, frame["host"].dropna().unique()))),
        "package versions": ", ".join(sorted(map(str, frame["versions"].unique()))),
    }
    rows = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in info.items())
    return f'<table id="overview">{rows}</table>'


_SMOKE = (
    '<p class="banner"><b>Smoke size.</b> This report comes from <code>--scale smoke</code>: tiny d, '
    "widths and sample sizes that check the pipeline end to end in about a minute. At this size "
    "no claim can be shown, so the verdicts below say NOT shown by design; run "
    "<code>featlearn reproduce</code> (the default scale) for the measured claims.</p>"
)


def _run_facts(frame: pd.DataFrame) -> dict[str, Any]:
    """What the fixed-budget sweep ran, read from its records (for the figure captions)."""
    from featlearn.experiments import BUDGET

    sep = frame[(frame.get("sweep") == "reproduce-separation") & (frame["status"] == "ok")]
    if not len(sep):
        return {}
    row = sep.iloc[0]
    energy = np.asarray(row.get("energy_per_degree") or [0, 1], np.float64)
    share = float(energy[3:].sum() / energy[1:].sum()) if energy[1:].sum() > 0 else float("nan")
    width = sep["width"].dropna()
    return {"target": row.get("target"), "width": int(width.iloc[0]) if len(width) else "?",
            "budget": BUDGET, "share": share}  # fmt: skip


def _threshold_records(store: str | Path) -> pd.DataFrame | None:
    fits = results_frame(store, experiment="fit")
    if "sweep" not in fits or not len(fits):
        return None
    return fits[fits["sweep"] == "reproduce-thresholds"]


def write_report(
    store: str | Path,
    out: str | Path = "report",
    *,
    eps: float | Mapping[str, float] = 0.1,
    claims: Mapping[str, Any] | None = None,
    scale: str | None = None,
) -> dict[str, Any]:
    """Write ``out/index.html`` (self-contained) and each figure as ``out/NAME.png`` and ``.pdf``.

    Parameters
    ----------
    store : a results store written by ``featlearn sweep``.
    out : output folder (created).
    eps : the risk level defining the threshold n* (median relative risk <= eps); or one level per
        learner name (``{"layerwise": 0.05, ...}``; learners not named use 0.1).
    claims : verdicts and evidence from ``featlearn reproduce`` (see ``featlearn.reproduce``),
        shown first on the page: the separation figure, per-degree bars, verdicts, evidence.
    scale : the ``reproduce`` scale that made the store; ``smoke`` puts a banner on top saying
        that this size checks the pipeline and cannot show the claims.

    Returns
    -------
    dict with ``html`` (path), ``figures`` (PNG paths) and ``pdf`` (PDF paths).
    """
    from featlearn._errors import check_real

    levels = eps if isinstance(eps, Mapping) else {None: eps}
    for name, level in levels.items():
        check_real(f"eps[{name}]" if name else "eps", level, minimum=0.0, strict=True)
    frame = results_frame(store, status=None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = _Figures(out)
    parts = []
    if scale == "smoke":
        parts.append(_SMOKE)
    if claims is not None:
        parts.extend(claims_section(claims, figures.add, _table, run=_run_facts(frame),
                                    thresholds_frame=_threshold_records(store)))  # fmt: skip
    parts.append("<h2>Stores and versions</h2>")
    parts.append(_overview(frame, store))
    ok = frame[frame["status"] == "ok"]
    names = sorted(ok["experiment"].unique())
    for name in names:
        df = results_frame(store, experiment=name)  # its own columns and dtypes (ints stay ints)
        sweeps = sorted(df["sweep"].dropna().unique()) if "sweep" in df else []
        for sweep in sweeps if len(sweeps) > 1 else [None]:
            part = df if sweep is None else df[df["sweep"] == sweep].dropna(axis=1, how="all")
            part.attrs = df.attrs
            label = name if sweep is None else f"{name} (sweep {sweep})"
            stem = _stem(frame, name, sweep)
            parts.extend(_experiment_section(label, part, df.attrs, eps, figures, stem))
    if not names:
        parts.append(_note("The store holds no successful cell yet."))
    failed = frame[frame["status"] == "failed"]
    if len(failed):
        table = failed[["hash", "replicate", "experiment", "attempts", "error"]].copy()
        table["error"] = table["error"].map(lambda e: (e or "").splitlines()[0] if e else "")
        parts += [f"<h2>Failed cells ({len(failed)})</h2>", _table(table, "failed")]
    title = f"featlearn report: {Path(store).name}"
    path = out / "index.html"
    path.write_text(_PAGE.format(title=html.escape(title), body="\n".join(parts)), encoding="utf-8")
    return {"html": str(path), "figures": figures.png, "pdf": figures.pdf}
