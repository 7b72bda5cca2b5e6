"""One self-contained HTML report of a results store; every figure also as PNG and PDF.

The page reads like a short paper: for ``featlearn reproduce`` the claims first (the count shown,
the separation figure, the verdicts and their evidence: ``_claims.py``); then one section per
experiment or sweep (``_generic.py``: figures with captions, the configuration and spec text,
tables folded); then the failed cells and the stores and versions. Figures are embedded as base64
PNG, so the page needs no other file. What cannot be drawn (no n column, fewer than two d crossing
eps...) is said in the page instead of failing (DESIGN section 8).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from featlearn.plots._claims import claims_section
from featlearn.plots._generic import experiment_section
from featlearn.plots._html import PAGE, Figures, note, table
from featlearn.runtime import results_frame

__all__ = ["write_report"]


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
    "widths and sample sizes that check the pipeline end to end in about 1.5 minutes. At this size "
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
    figures = Figures(out)
    parts = [_SMOKE] if scale == "smoke" else []
    if claims is not None:
        parts.extend(claims_section(claims, figures.add, table, run=_run_facts(frame),
                                    thresholds_frame=_threshold_records(store)))  # fmt: skip
    parts += _sections(store, frame, eps, figures, claims)
    failed = frame[frame["status"] == "failed"]
    if len(failed):
        rows = failed[["hash", "replicate", "experiment", "attempts", "error"]].copy()
        rows["error"] = rows["error"].map(lambda e: (e or "").splitlines()[0] if e else "")
        parts += [f"<h2>Failed cells ({len(failed)})</h2>", table(rows, "failed")]
    parts += ["<h2>Stores and versions</h2>", _overview(frame, store)]
    title = f"featlearn report: {Path(store).name}"
    path = out / "index.html"
    path.write_text(PAGE.format(title=html.escape(title), body="\n".join(parts)), encoding="utf-8")
    return {"html": str(path), "figures": figures.png, "pdf": figures.pdf}


def _specs(store: str | Path) -> dict[tuple[str, str], str]:
    """The spec texts the store holds, by (sweep name, sha256); empty for stores written before
    featlearn kept them (or a runtime without ``Store.specs``)."""
    from featlearn.runtime import Store

    with Store(store, create=False) as db:
        read = getattr(db, "specs", None)
        return dict(read()) if read is not None else {}


def _known_exponents(claims: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The claims' exponents by learner: the threshold sweep's section quotes their intervals."""
    return {e["learner"]: e for e in (claims or {}).get("exponents", [])}


def _sections(store, frame, eps, figures, claims) -> list[str]:
    """One section per experiment, and per sweep when an experiment has several."""
    from featlearn.experiments import THRESHOLDS

    names = sorted(frame.loc[frame["status"] == "ok", "experiment"].unique())
    if not names:
        return [note("The store holds no successful cell yet.")]
    specs, known, parts = _specs(store), _known_exponents(claims), []
    for name in names:
        df = results_frame(store, experiment=name)  # its own columns and dtypes (ints stay ints)
        sweeps = sorted(df["sweep"].dropna().unique()) if "sweep" in df else []
        for sweep in sweeps if len(sweeps) > 1 else [None]:
            part = df if sweep is None else df[df["sweep"] == sweep].dropna(axis=1, how="all")
            part.attrs = df.attrs
            label = name if sweep is None else f"{name} (sweep {sweep})"
            quoted = known if set(part.get("sweep", [])) == {THRESHOLDS} else None
            parts += experiment_section(label, part, df.attrs, eps, figures,
                                        _stem(frame, name, sweep), specs=specs, known=quoted)  # fmt: skip
    return parts
