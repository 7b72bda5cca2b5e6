"""Figures of a results table: risk vs n with the kernel staircase, thresholds n*(d), alignment vs n.

Each function takes the flat table of :func:`featlearn.runtime.results_frame` (one row per cell)
and returns a matplotlib ``Figure`` built without pyplot (no global state, no display needed), or,
given ``ax=`` (an Axes, or a sequence of Axes for one panel per facet group), draws into the caller's
own axes and returns the figure they belong to.
Curves are medians over replicates with error bars from the 25% to the 75% quantile.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from featlearn._errors import ConfigError

__all__ = ["alignment_figure", "risk_figure", "staircase_levels", "threshold_figure"]

QUANTILES = (0.25, 0.5, 0.75)


def staircase_levels(energy_per_degree: Sequence[float], *, relative: bool = True) -> list[float]:
    """Kernel staircase: level k = energy of f* above degree k, for k = 0 .. p-1.

    A rotation-invariant kernel with d^k << n << d^{k+1} samples learns the degree <= k part of f*
    and no more, so its excess risk sits near sum_{j>k} E_j; ``relative`` divides by
    Var f* = sum_{j>=1} E_j (the scale of ``relative_risk``).
    """
    e = np.asarray(energy_per_degree, dtype=np.float64)
    levels = [float(e[k + 1 :].sum()) for k in range(e.size - 1)]
    variance = float(e[1:].sum())
    if relative:
        levels = [lv / variance if variance > 0 else math.nan for lv in levels]
    return levels


def _given(v: object) -> bool:
    return not (v is None or (isinstance(v, float) and math.isnan(v)) or v in ("{}", ""))


def facet_label(facets: Sequence[str], key: object) -> str:
    """``learner=kernel-ridge, options.kernel=ntk``; fields a group does not set are left out."""
    keys = key if isinstance(key, tuple) else (key,)
    pairs = [f"{f}={v}" for f, v in zip(facets, keys, strict=False) if _given(v)]
    return ", ".join(pairs) or "all cells"


#: Fields that name a variant briefly; other varying fields (lambda grids...) only lengthen labels.
BRIEF = ("learner", "options.kernel", "options.oracle", "target", "experiment")


def _labels(facets: Sequence[str], keys: Sequence[object]) -> list[str]:
    """One label per group: only the BRIEF fields when they still tell the groups apart."""
    full = [facet_label(facets, k) for k in keys]
    brief_facets = [f for f in facets if f in BRIEF]
    if not brief_facets or len(brief_facets) == len(facets):
        return full
    idx = [facets.index(f) for f in brief_facets]
    brief = [
        facet_label(brief_facets, tuple((k if isinstance(k, tuple) else (k,))[i] for i in idx))
        for k in keys
    ]
    return brief if len(set(brief)) == len(set(full)) else full


def _groups(df: pd.DataFrame, facets: Sequence[str]) -> list[tuple[object, pd.DataFrame]]:
    # dropna=False: a field only some cases set (options.kernel) must not drop the other cases
    return list(df.groupby(list(facets), sort=True, dropna=False)) if facets else [((), df)]


def _panels(n: int, ax=None, width: float = 4.4, height: float = 3.4):
    """``n`` panels: a new constrained-layout grid of up to 3 columns, or the caller's own Axes.

    ``ax`` is one Axes (n must be 1) or a sequence/array of at least n Axes; the first n are used
    and any others are left untouched. Returns the top-level figure holding them and the axes.
    """
    if ax is None:
        ncols = min(3, max(n, 1))
        nrows = math.ceil(max(n, 1) / ncols)
        fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for extra in axes[n:]:
            extra.set_visible(False)
        return fig, axes
    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) < max(n, 1) or not all(isinstance(a, Axes) for a in axes):
        raise ConfigError(
            f"ax must be a matplotlib Axes or a sequence of at least {max(n, 1)} Axes "
            f"(one per panel); got {type(ax).__name__} of {len(axes)}"
        )
    # .figure of a SubFigure's axes is the SubFigure; its .figure is the top-level Figure
    return axes[0].figure.figure, axes[:n]


def _median_curve(ax, group: pd.DataFrame, x: str, y: str, color, label: str) -> None:
    stats = group.groupby(x)[y].quantile(list(QUANTILES)).unstack()
    mid = stats[0.5].to_numpy()
    err = np.vstack([mid - stats[0.25].to_numpy(), stats[0.75].to_numpy() - mid])
    ax.errorbar(
        stats.index.to_numpy(float),
        mid,
        yerr=err,
        marker="o",
        ms=3.5,
        capsize=2,
        color=color,
        label=label,
    )


def _draw_staircase(ax, group: pd.DataFrame, d: float, color, x: str, relative: bool) -> bool:
    energies = [e for e in group.get("energy_per_degree", []) if isinstance(e, list) and e]
    if not energies or not d or d <= 1:
        return False
    lo, hi = group[x].min(), group[x].max()
    drawn = False
    for k, level in enumerate(staircase_levels(energies[0], relative=relative)):
        start, stop = max(d**k, lo), min(d ** (k + 1), hi)
        if level > 0 and start < stop:
            ax.hlines(level, start, stop, colors=[color], linestyles="--", linewidth=1.2, alpha=0.6)
            drawn = True
    return drawn


def risk_figure(
    df: pd.DataFrame,
    facets: Sequence[str],
    *,
    y: str = "relative_risk",
    x: str = "n",
    curve: str = "d",
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """Median risk vs n, one panel per facet group, one curve per d (log-log), with the kernel
    staircase of the target drawn dashed in each curve's colour over d^k <= n <= d^{k+1}.

    ``ax``: draw into these Axes (one per facet group) instead of a new figure. Returns the
    figure the panels belong to.
    """
    groups = _groups(df, facets)
    fig, axes = _panels(len(groups), ax)
    relative = y == "relative_risk"
    titles = _labels(list(facets), [k for k, _ in groups])
    for ax, title, (_, group) in zip(axes, titles, groups, strict=False):
        stair = False
        curves = group.groupby(curve, sort=True) if curve in group else [(None, group)]
        for i, (dval, g) in enumerate(curves):
            color = f"C{i % 10}"
            _median_curve(ax, g, x, y, color, f"{curve}={dval}" if dval is not None else y)
            stair |= _draw_staircase(ax, g, float(dval or 0), color, x, relative)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short ranges
        if (group[y] > 0).all():
            ax.set_yscale("log")
        ax.set(xlabel=x, ylabel=y, title=textwrap.fill(title, 48))
        if stair:
            ax.plot([], [], "k--", alpha=0.6, label="kernel staircase")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    return fig


def alignment_figure(
    df: pd.DataFrame,
    facets: Sequence[str],
    *,
    y: str = "alignment",
    x: str = "n",
    curve: str = "d",
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """Median alignment ||W U^T||_F^2 / ||W||_F^2 vs n, one panel per facet group, a curve per d.

    ``ax``: draw into these Axes (one per facet group) instead of a new figure. Returns the
    figure the panels belong to.
    """
    groups = _groups(df, facets)
    fig, axes = _panels(len(groups), ax)
    titles = _labels(list(facets), [k for k, _ in groups])
    for ax, title, (_, group) in zip(axes, titles, groups, strict=False):
        curves = group.groupby(curve, sort=True) if curve in group else [(None, group)]
        for i, (dval, g) in enumerate(curves):
            _median_curve(ax, g, x, y, f"C{i % 10}", f"{curve}={dval}" if dval is not None else y)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short ranges
        ax.set(xlabel=x, ylabel=y, title=textwrap.fill(title, 48), ylim=(-0.02, 1.02))
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    return fig


def threshold_figure(
    th: pd.DataFrame,
    fits: pd.DataFrame,
    facets: Sequence[str],
    *,
    eps: float,
    d: str = "d",
    ax: Axes | None = None,
) -> Figure:
    """Thresholds n*(d) on log-log axes, one colour per facet group, with the fitted line
    n* = e^c d^k and its interval in the legend. Censored thresholds are drawn as open triangles
    at the grid end that bounds them (pointing up: n* beyond the largest n; down: below the smallest).

    ``ax``: draw into this Axes instead of a new figure. Returns the figure it belongs to.
    """
    if ax is None:
        fig = Figure(figsize=(5.6, 4.2), layout="constrained")
        ax = fig.subplots()
    elif isinstance(ax, Axes):
        fig = ax.figure.figure  # the top-level figure, also when ax lies in a SubFigure
    else:
        raise ConfigError(f"ax must be one matplotlib Axes; got {type(ax).__name__}")
    groups = _groups(th, facets)
    labels = _labels(list(facets), [k for k, _ in groups])
    for i, (key, group) in enumerate(groups):
        color, label = f"C{i % 10}", labels[i]
        crossed = group[group["censored"] == ""]
        ax.plot(crossed[d], crossed["n_star"], "o", color=color)
        for side, marker in (("right", "^"), ("left", "v")):
            cens = group[group["censored"] == side]
            ax.plot(cens[d], cens["bound"], marker, mfc="none", color=color)
        keys = key if isinstance(key, tuple) else (key,)
        fit = fits
        for f, v in zip(facets, keys, strict=False):
            fit = fit[fit[f] == v]
        if len(fit) and np.isfinite(fit["k"].iloc[0]):
            row = fit.iloc[0]
            ds = np.geomspace(group[d].min(), group[d].max(), 20)
            ci = f" [{row.ci_low:.2f}, {row.ci_high:.2f}]" if np.isfinite(row.ci_low) else ""
            ax.plot(
                ds,
                np.exp(row.intercept) * ds**row.k,
                "-",
                color=color,
                label=f"{label}: k = {row.k:.2f}{ci}"
                + (f" at eps {row.eps:g}" if "eps" in fit else ""),
            )
        else:
            ax.plot([], [], "o", color=color, label=f"{label}: no fit (< 2 crossing d)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ds = np.unique(th[d].to_numpy(np.float64))
    ax.set_xticks(ds, [f"{v:g}" for v in ds], minor=False, fontsize=7, rotation=45)
    ax.set_xticks([], minor=True)
    level = f"{eps:g}" if math.isfinite(eps) else "eps of its learner"
    ax.set(xlabel=d, ylabel=f"n*  (median risk <= {level})", title="thresholds n*(d), n* ∝ d^k")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return fig
