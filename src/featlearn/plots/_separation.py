"""Figures of the separation: risk vs d at a fixed budget, per-degree learned energy, measured
kernel risk against the theory, and curve collapse (DESIGN section 7).

Each function takes rows computed by ``featlearn.experiments`` (or the flat results table for
the collapse) and draws into ``ax`` when given, else into a new figure; it returns the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

__all__ = ["collapse_figure", "degree_figure", "headline_figure", "theory_figure"]

#: Display name and colour of each fixed-budget case.
CASES = {
    "network": ("layer-wise network", "C0"),
    "kernel": ("NTK kernel ridge", "C3"),
    "random-features": ("random features (first layer frozen)", "C2"),
    "kernel-d3": ("NTK kernel ridge at n = d³", "C1"),
    "kernel-sphere": ("NTK kernel ridge, sphere inputs", "C4"),
    "network-noisy": ("layer-wise network, noisy labels", "C0"),
    "kernel-noisy": ("NTK kernel ridge, noisy labels", "C3"),
}


def _axes(ax, size=(6.0, 4.2)):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots()


def _d_axis(ax, ds: Sequence[float]) -> None:
    ax.set_xscale("log")
    ds = sorted(set(ds))
    ax.set_xticks(ds, [f"{v:g}" for v in ds])
    ax.set_xticks([], minor=True)
    ax.set_xlabel("input dimension d")


def _series(ax, rows: pd.DataFrame, case: str, style: str = "-o") -> None:
    label, color = CASES.get(case, (case, "k"))
    g = rows[rows["case"] == case].sort_values("d")
    if not len(g):
        return
    err = np.vstack([g["median"] - g["ci_low"], g["ci_high"] - g["median"]]).clip(min=0)
    ax.errorbar(g["d"], g["median"], yerr=err, fmt=style, color=color, capsize=3, label=label)


def headline_figure(
    budget: Sequence[Mapping[str, Any]], *, share: float, budget_c: float, ax=None
) -> Figure:
    """Median relative risk vs d at n = budget_c d^2, network vs kernels, with 90% intervals and
    the target's energy share above degree 2 (the kernel's plateau while n << d^3)."""
    fig, ax = _axes(ax)
    rows = pd.DataFrame(budget)
    for case in ("network", "kernel", "random-features"):
        _series(ax, rows, case)
    ax.axhline(share, color="0.4", ls="--", lw=1)
    ax.annotate(
        f"energy above degree 2 = {share:.2f}", (0.02, share), xycoords=("axes fraction", "data"),
        textcoords="offset points", xytext=(0, 4), fontsize=8, color="0.3",
    )  # fmt: skip
    _d_axis(ax, rows["d"])
    ax.set_ylim(0, max(1.0, float(rows["ci_high"].max()) * 1.05))
    ax.set_ylabel("relative excess risk (median over seeds)")
    ax.set_title(f"Relative risk at a fixed budget n = {budget_c:g}·d²")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    return fig


def degree_figure(budget: Sequence[Mapping[str, Any]], *, degrees=(2, 3), ax=None) -> Figure:
    """Learned fraction of the target's energy in each degree vs d, network vs kernel bars."""
    rows = pd.DataFrame(budget)
    rows = rows[rows["case"].isin(["network", "kernel"])]
    if ax is None:
        fig = Figure(figsize=(4.2 * len(degrees), 3.8), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(degrees), sharey=True))
    else:
        fig, axes = ax.figure, np.atleast_1d(ax)
    ds = sorted(rows["d"].unique())
    for ax_k, k in zip(axes, degrees, strict=False):
        for j, case in enumerate(("network", "kernel")):
            g = rows[rows["case"] == case].set_index("d")
            vals = [_degree(g, d, k) for d in ds]
            label, color = CASES[case]
            ax_k.bar(np.arange(len(ds)) + (j - 0.5) * 0.38, vals, 0.38, color=color, label=label)
        ax_k.set_xticks(np.arange(len(ds)), [str(d) for d in ds])
        ax_k.set(xlabel="input dimension d", title=f"degree {k}", ylim=(0, 1.05))
        ax_k.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("learned fraction of the degree's energy")
    axes[0].legend(fontsize=8, loc="lower left")
    return fig


def _degree(g: pd.DataFrame, d: int, k: int) -> float:
    if d not in g.index:
        return np.nan
    frac = g.loc[d, "fractions"] or []
    return float(frac[k]) if len(frac) > k and frac[k] is not None else np.nan


def theory_figure(
    theory: Sequence[Mapping[str, Any]], budget: Sequence[Mapping[str, Any]], *, ax=None
) -> Figure:
    """Kernel ridge on the sphere at the fixed budget: measured median (with interval) against the
    parameter-free learning-curve theory at the same d, n and ridge."""
    fig, ax = _axes(ax)
    rows = pd.DataFrame(budget)
    _series(ax, rows, "kernel-sphere")
    th = pd.DataFrame(theory).sort_values("d")
    ax.plot(th["d"], th["theory"], "k--x", label="theory (eigenlearning, no fitted parameter)")
    _d_axis(ax, th["d"])
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("relative excess risk")
    ax.set_title("Kernel on the sphere: measured vs theory")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def collapse_figure(frame: pd.DataFrame, *, eps: float | None = None, axes=None) -> Figure:
    """Median relative risk against n/d^2 and n/d^3, one curve per (learner, d): curves of a
    learner whose sample complexity scales like d^k collapse on the n/d^k axis."""
    if axes is None:
        fig = Figure(figsize=(10.0, 4.0), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
    else:
        fig = axes[0].figure
    med = frame.groupby(["learner", "d", "n"])["relative_risk"].median().reset_index()
    styles = {"layerwise": ("-", "layer-wise"), "kernel-ridge": ("--", "NTK kernel")}
    for ax, power in zip(axes, (2, 3), strict=True):
        for (learner, d), g in med.groupby(["learner", "d"]):
            ls, name = styles.get(learner, (":", learner))
            cmap = "Blues" if learner == "layerwise" else "Reds"
            color = _shade(cmap, d, med["d"])
            ax.plot(g["n"] / g["d"] ** power, g["relative_risk"], ls, marker=".", color=color,
                    label=f"{name}, d = {d}")  # fmt: skip
        if eps is not None:
            ax.axhline(eps, color="0.4", lw=1, ls=":")
        ax.set(xscale="log", yscale="log", xlabel=f"n / d^{power}")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("relative excess risk (median)")
    axes[0].set_title("against n / d² (network: ~d² samples)")
    axes[1].set_title("against n / d³ (kernel: ~d³ samples)")
    axes[1].legend(fontsize=6, ncol=2)
    return fig


def _shade(cmap: str, d: float, ds: pd.Series):
    from matplotlib import colormaps

    lo, hi = float(ds.min()), float(ds.max())
    t = 0.45 + 0.55 * (np.log(d / lo) / np.log(hi / lo) if hi > lo else 1.0)
    return colormaps[cmap](t)
