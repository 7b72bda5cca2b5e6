"""The report's section for one experiment (or sweep) of a store: what any user sweep gets.

Order, as in a short paper: the figures, each with a caption saying what was run and what it
shows (risk vs n, thresholds n*(d), alignment vs n); warnings (λ at the edge of its grid); the
configuration (the fields every record shares, and the spec text when the store holds it); then
the tables, folded under headings: thresholds, exponents, medians, every record.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from featlearn.plots._captions import describe_run
from featlearn.plots._figures import (
    INTERVAL,
    _given,
    _labels,
    alignment_figure,
    risk_figure,
    threshold_figure,
)
from featlearn.plots._html import caption, folded, note, table
from featlearn.plots._labels import axis_label, format_value, learner_label

__all__ = ["experiment_section"]

_NOT_FACETS = ("pair_seed", "degrees")
N_BOOT = 500
METHODS = {
    "paired-bootstrap": "90% paired bootstrap over seeds (whole curves resampled), {n} draws",
    "replicate-bootstrap": "90% bootstrap over replicates (resampled in each (d, n) cell), {n} draws",
    "claims": "90%: the wider of the paired-seed and the residual bootstrap, 1000 draws "
    "(the interval of the claims above)",
}


def _prepare(
    df: pd.DataFrame, attrs: dict[str, list[str]]
) -> tuple[pd.DataFrame, list[str], list[str], list[str]]:
    """Keep this experiment's columns; lists/dicts in config columns as JSON text (groupable);
    return (table, config columns, varying config columns, numeric scalar metric columns)."""
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
    return df, config, varying, numeric


def _per_level(data, eps, facets, y, pair):
    """Thresholds and exponents at one level eps, or at each learner's level (column ``eps``)."""
    from featlearn.experiments import fit_exponent_from_runs, thresholds

    def both(part, level):
        th = thresholds(part, level, by=[*facets, "d"], x="n", y=y)
        fit = fit_exponent_from_runs(part, level, by=facets, x="n", y=y, n_boot=N_BOOT, pair=pair)
        return th, fit

    if isinstance(eps, Mapping) and "learner" not in data:
        eps = 0.1
    if not isinstance(eps, Mapping):
        return both(data, eps)
    ths, fits = [], []
    for learner, group in data.groupby("learner", sort=True):
        level = eps.get(learner, 0.1)
        th, fit = both(group, level)
        ths.append(th.assign(eps=level))
        fits.append(fit.assign(eps=level))
    return pd.concat(ths, ignore_index=True), pd.concat(fits, ignore_index=True)


def _use_known(fits: pd.DataFrame, known: Mapping[str, Mapping], eps) -> pd.DataFrame:
    """Give the exponents that the claims also quote the claims' interval (one number, one
    interval): same point estimate, interval and method replaced."""
    if not known or "learner" not in fits or isinstance(eps, Mapping):
        return fits
    fits = fits.copy()
    for i, row in fits.iterrows():
        claim = known.get(row["learner"])
        if claim and math.isclose(claim["eps"], eps) and claim.get("ci_low") is not None:
            fits.loc[i, ["ci_low", "ci_high", "method"]] = [
                claim["ci_low"], claim["ci_high"], "claims"
            ]  # fmt: skip
    return fits


def _methods(fits: pd.DataFrame) -> str:
    used = [m for m in dict.fromkeys(fits["method"]) if m in METHODS]
    return "; ".join(METHODS[m].format(n=N_BOOT) for m in used) or "none (no fit)"


def _threshold_caption(df, y, shown, fits) -> str:
    return (f"{describe_run(df)} Points: n*(d), the smallest n of the grid whose median "
            f"{axis_label(y)} is "
            f"≤ ε = {shown}, per d; open triangles: censored (the curve does not cross inside the "
            "grid; drawn at the grid end that bounds n*). Lines: n* = e^c d^k fitted by least "
            f"squares on log n* against log d, k in the legend with its interval ({_methods(fits)}). "
            "Grey: reference slopes n* ∝ d² (a network's rate for this theory) and n* ∝ d³ (a "
            "kernel's rate for a degree-3 target) through the thresholds at the smallest d.")  # fmt: skip


def _thresholds_section(df, facets, y, eps, figures, stem, known) -> tuple[list[str], list[str]]:
    """(parts shown with the figures, folded tables)."""
    try:
        from featlearn.experiments import fit_exponent_from_runs  # noqa: F401
    except ImportError:
        return [note("Threshold analysis is not available in this featlearn installation.")], []
    from featlearn._errors import FeatlearnError

    taken = {"k", "intercept", "ci_low", "ci_high", "n_points", "method", "level", "n_star"}
    taken |= {"n_censored", "n_boot_used", "censored", "bound"}
    renamed = {f: f"{f} (config)" for f in facets if f in taken}  # keep analysis columns apart
    data = df.dropna(subset=[y]).rename(columns=renamed)
    facets = [renamed.get(f, f) for f in facets]
    pair = "pair_seed" if "pair_seed" in data and data["pair_seed"].notna().all() else None
    try:
        th, fits = _per_level(data, eps, facets, y, pair)
    except FeatlearnError as exc:
        return [note(f"No thresholds: {exc}")], []
    fits = _use_known(fits, known, eps)
    shown = f"{eps:g}" if not isinstance(eps, Mapping) else "the level of each learner"
    parts = [f"<h3>Thresholds n*(d): smallest n with median {html.escape(axis_label(y))} "
             f"&le; ε = {html.escape(shown)}</h3>"]  # fmt: skip
    groups = fits.groupby(facets, sort=True) if facets else [((), fits)]
    groups = list(groups)
    names = _labels(facets, [k for k, _ in groups])
    lacking = [
        n for n, (_, g) in zip(names, groups, strict=True) if not np.isfinite(g["k"].iloc[0])
    ]
    for label in lacking:
        parts.append(note(f"{label}: fewer than 2 dimensions d reach median {axis_label(y)} ≤ ε = "
                          f"{shown}; no exponent."))  # fmt: skip
    if len(lacking) < len(fits):
        level = eps if not isinstance(eps, Mapping) else math.nan
        parts.append(figures.add(threshold_figure(th, fits, facets, eps=level),
                                 f"{stem}thresholds", "thresholds n*(d)"))  # fmt: skip
        parts.append(caption(_threshold_caption(df, y, shown, fits)))
    else:
        parts.append(note("No threshold figure: no group has 2 or more dimensions d crossing eps."))
    tables = [
        folded(f"Thresholds n*(d) at ε = {shown}", table(th, f"thresholds-{stem}".rstrip("-"))),
        folded(f"Exponents k in n* ∝ d^k (interval: {_methods(fits)})",
               table(fits.replace({"method": {"claims": "claims' interval"}}),
                     f"exponents-{stem}".rstrip("-"))),
    ]  # fmt: skip
    return parts, tables


def _one_n_per_d(df: pd.DataFrame, facets: list[str]) -> bool:
    return bool(df.groupby([*facets, "d"], dropna=False)["n"].nunique().max() < 2)


def _risk_parts(df, facets, y, eps, figures, stem) -> list[str]:
    level = eps if not isinstance(eps, Mapping) else None
    fig = risk_figure(df.dropna(subset=[y]), facets, y=y, eps=level)
    eps_text = f" Dotted: ε = {level:g}, the level defining n*." if level is not None else ""
    return [
        f"<h3>{html.escape(axis_label(y))} vs n</h3>",
        figures.add(fig, f"{stem}risk_vs_n", f"{y} vs n"),
        caption(f"{describe_run(df)} One panel per variant, one curve per d; points are medians "
                f"over replicates, bars the {INTERVAL}. Dashed: the kernel staircase, the "
                "target's energy above degree k, which a rotation-invariant kernel cannot learn "
                f"with d^k ≪ n ≪ d^(k+1) samples.{eps_text} All panels share one y axis."),
    ]  # fmt: skip


def _alignment_parts(df, facets, figures, stem) -> list[str]:
    data = df.dropna(subset=["alignment"])
    return [
        "<h3>alignment vs n</h3>",
        figures.add(alignment_figure(data, facets), f"{stem}alignment_vs_n", "alignment"),
        caption(f"{describe_run(data)} The share of the first layer's energy in the target's "
                "relevant span, ‖WUᵀ‖²/‖W‖² (1: every neuron in span(U); about r/d at random); "
                f"medians over replicates, bars the {INTERVAL}."),
    ]  # fmt: skip


def _transfer_parts(df, facets, figures, stem) -> list[str]:
    """Median relative risk vs d of each transfer method, one panel per n_target (the figure of
    ``reproduce``'s transfer claim), when nothing but d, n_source and n_target varies."""
    from featlearn.plots._claims import METHODS, transfer_figure

    methods = [m for m in METHODS if f"{m}_relative_risk" in df]
    if not methods or set(facets) - {"n_source", "n_target"}:
        return []
    cols = {f"{m}_relative_risk": m for m in methods}
    rows = df.groupby(["n_target", "d"])[list(cols)].median().rename(columns=cols).reset_index()
    kernels = (
        df["options.kernel-ridge.kernel"].dropna().unique()
        if "options.kernel-ridge.kernel" in df
        else []
    )
    kernel = learner_label("kernel-ridge", {"kernel": kernels[0]} if len(kernels) == 1 else {})
    figure = transfer_figure(rows.to_dict("records"), names={"kernel": kernel})
    return [
        "<h3>Transfer: median relative risk vs d at each n_target</h3>",
        figures.add(figure, f"{stem}transfer_vs_d", "transfer"),
        caption(f"{describe_run(df, n='n_target')} Each method's median relative risk over "
                "replicates against d, one panel per number of target samples n_target: the "
                "transfer keeps the first layer learned on the source head (n_source samples) "
                "and fits a new head; the others learn the target head from scratch."),
    ]  # fmt: skip


def lambda_edge_warning(df: pd.DataFrame, facets: list[str]) -> str:
    """A warning naming, per learner, how many cells chose λ at the low or high end of their grid
    (record key ``lambda_at_edge``: "low", "high" or None); empty when no cell did or the records
    do not say."""
    if "lambda_at_edge" not in df:
        return ""
    edge = df["lambda_at_edge"].map(lambda v: v if v in ("low", "high") else None)
    if edge.isna().all():
        return ""
    keys = [f for f in facets if f in df] or ["learner"] * ("learner" in df)
    groups = df.groupby(keys, sort=True, dropna=False) if keys else [((), df)]
    labels = _labels(keys, [k for k, _ in groups])
    found = []
    for label, (_, g) in zip(labels, groups, strict=True):
        counts = edge[g.index].value_counts()
        sides = [f"{counts[s]} at the {s} end" for s in ("low", "high") if s in counts]
        if sides:
            found.append(f"{label}: {' and '.join(sides)} of {len(g)} cells")
    return note("λ at the edge of its grid (the best λ may lie outside it; widen lambda_min / "
                f"lambda_max): {'; '.join(found)}.")  # fmt: skip


def _configuration(df, config, varying, specs, stem) -> list[str]:
    shared = [c for c in config if c not in varying and c in df and df[c].notna().any()]
    rows = pd.DataFrame({"field": shared,
                         "value": [format_value(df[c].dropna().iloc[0]) for c in shared]})  # fmt: skip
    parts = ["<h3>Configuration</h3>"]
    if varying:
        parts.append(f"<p>Varying fields: {html.escape(', '.join(varying))}.</p>")
    parts.append(
        folded(
            f"Fields every record shares ({len(shared)})", table(rows, f"config-{stem}".rstrip("-"))
        )
    )
    texts = _spec_texts(df, specs)
    for (name, digest), text in texts.items():
        summary = f"Spec {name} (sha256 {digest[:12]})"
        parts.append(folded(summary, f"<pre>{html.escape(text)}</pre>", open_=True))
    if not texts:
        parts.append("<p>The store holds no spec text for these records (it was written before "
                     "featlearn stored specs, or the cells were not run from a spec).</p>")  # fmt: skip
    return parts


def _spec_texts(df: pd.DataFrame, specs: Mapping[tuple[str, str], str]) -> dict:
    """The stored spec texts these records were run from (matched by hash, else by sweep name)."""
    hashes = set(df["spec"].dropna()) if "spec" in df else set()
    sweeps = set(df["sweep"].dropna()) if "sweep" in df else set()
    by_hash = {k: t for k, t in specs.items() if k[1] in hashes}
    return by_hash or {k: t for k, t in specs.items() if k[0] in sweeps}


def _tables(df, varying, numeric, stem) -> list[str]:
    keys = varying or []
    if keys:
        medians = df.groupby(keys, sort=True, dropna=False)[numeric].median()
        counts = df.groupby(keys, sort=True, dropna=False).size()
    else:
        medians, counts = df[numeric].median().to_frame().T, pd.Series([len(df)])
    medians.insert(0, "replicates", counts.to_numpy())
    medians = medians.reset_index() if keys else medians
    facets = [k for k in keys if k not in ("n", "d")]
    if facets:  # the human name of each row's variant, as in the figures' titles
        medians.insert(
            0, "variant", _labels(facets, list(medians[facets].itertuples(index=False, name=None)))
        )
    records = df[["hash", "replicate", "seed", *varying, *numeric]].copy()
    records["hash"] = records["hash"].str[:12]
    return [
        folded("Medians over replicates", table(medians, f"medians-{stem}".rstrip("-"))),
        folded(f"All {len(df)} stored records (exact values; the shared fields are listed above)",
               table(records, f"records-{stem}".rstrip("-"), precise=True)),
    ]  # fmt: skip


def experiment_section(
    name: str,
    df: pd.DataFrame,
    attrs: dict[str, list[str]],
    eps: float | Mapping[str, float],
    figures: Any,
    stem: str,
    *,
    specs: Mapping[tuple[str, str], str] | None = None,
    known: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[str]:
    """HTML parts of one experiment's section. ``specs``: the store's spec texts by (sweep, hash);
    ``known``: exponents the claims quote, by learner, whose interval the section reuses."""
    df, config, varying, numeric = _prepare(df, attrs)
    facets = [c for c in varying if c not in ("n", "d")]
    for c in facets:  # group labels: a field a case leaves unset is "", so no row is dropped
        df[c] = df[c].map(lambda v: format_value(v) if _given(v) else "")
    parts = [f"<h2>Experiment {html.escape(name)}: {len(df)} stored cells</h2>"]
    tables: list[str] = []
    y = next((c for c in ("relative_risk", "excess_risk") if c in numeric), None)
    if y and "n" in df:
        parts += _risk_parts(df, facets, y, eps, figures, stem)
        if "d" in df and _one_n_per_d(df, facets):
            parts.append(note("No thresholds: every d of this sweep has a single n (a fixed "
                              "budget), so no curve can cross ε."))  # fmt: skip
        elif "d" in df:
            shown, tables = _thresholds_section(df, facets, y, eps, figures, stem, known or {})
            parts += shown
    elif {"n_target", "d"} <= set(df) and (shown := _transfer_parts(df, facets, figures, stem)):
        parts += shown
    else:
        parts.append(note("No risk-vs-n figure: the records have no n or risk column."))
    if "alignment" in numeric and "n" in df and df["alignment"].notna().any():
        parts += _alignment_parts(df, facets, figures, stem)
    parts.append(lambda_edge_warning(df, facets))
    parts += _configuration(df, config, varying, specs or {}, stem)
    return [*parts, *tables, *_tables(df, varying, numeric, stem)]
