"""Figures of a results table: risk vs n with the kernel staircase, thresholds n*(d), alignment vs n.

Each function takes the flat table of :func:`featlearn.runtime.results_frame` (one row per cell)
and returns a matplotlib ``Figure`` built without pyplot (no global state, no display needed), or,
given ``ax=`` (an Axes, or a sequence of Axes for one panel per facet group), draws into the caller's
own axes and returns the figure they belong to.
Curves are medians over replicates with 90% percentile-bootstrap intervals of the median
(``INTERVAL``); panels that are compared share one y range, and labels are human (``_labels``).
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
from featlearn.plots._labels import axis_label, format_value, group_label

__all__ = ["alignment_figure", "risk_figure", "staircase_levels", "threshold_figure"]


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
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return False
    return not (isinstance(v, str) and v in ("{}", ""))


def facet_label(facets: Sequence[str], key: object) -> str:
    """A facet group's human label ("NTK kernel ridge, n_lambdas = 3"); see ``group_label``."""
    return group_label(facets, key)


#: Fields that name a variant briefly; other varying fields (lambda grids...) only lengthen labels.
BRIEF = ("learner", "options.kernel", "options.oracle", "width", "target", "experiment")


def _labels(facets: Sequence[str], keys: Sequence[object]) -> list[str]:
    """One label per group, as short as still tells the groups apart: the BRIEF fields, then other
    fields added in order only while they separate more groups (a λ grid that follows the noise
    level is left out once the noise is shown)."""
    facets = list(facets)
    rows = [k if isinstance(k, tuple) else (k,) for k in keys]

    def labels(fields: list[str]) -> list[str]:
        idx = [facets.index(f) for f in fields]
        return [facet_label(fields, tuple(r[i] for i in idx)) for r in rows]

    wanted = len(set(labels(facets)))
    chosen = [f for f in facets if f in BRIEF]
    for f in (f for f in facets if f not in BRIEF):
        if len(set(labels(chosen))) >= wanted:
            break
        if len(set(labels([*chosen, f]))) > len(set(labels(chosen))):
            chosen.append(f)
    return labels([f for f in facets if f in chosen])


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


def median_bars(values: Sequence[float]) -> tuple[float, float, float]:
    """Median of ``values`` and its 90% percentile-bootstrap interval (2000 draws, seed 0): the
    one interval method of every median in the report (INTERVAL names it)."""
    from featlearn.experiments import median_interval

    return median_interval(values, level=0.9, n_boot=2000, seed=0)


#: How the report's median bars are computed, in the words of its captions.
INTERVAL = "90% percentile-bootstrap interval of the median over replicates (2000 draws)"


def _median_curve(ax, group: pd.DataFrame, x: str, y: str, color, label: str) -> None:
    stats = [(xv, *median_bars(g[y].to_numpy(np.float64))) for xv, g in group.groupby(x)]
    xs, mid, lo, hi = (np.asarray(col, np.float64) for col in zip(*stats, strict=True))
    err = np.vstack([mid - lo, hi - mid]).clip(min=0)
    ax.errorbar(xs, mid, yerr=err, marker="o", ms=3.5, capsize=2, color=color, label=label)


def _share_y(axes: Sequence[Axes]) -> None:
    """One y range for panels that are compared: the union of their own ranges."""
    lows, highs = zip(*(a.get_ylim() for a in axes), strict=True)
    for a in axes:
        a.set_ylim(min(lows), max(highs))


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
    eps: float | None = None,
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """Median risk vs n, one panel per facet group, one curve per d (log-log), with the kernel
    staircase of the target drawn dashed in each curve's colour over d^k <= n <= d^{k+1}.

    Bars are 90% percentile-bootstrap intervals of the median (``INTERVAL``). Every panel has the
    same y range and scale, so panels compare at a glance; ``eps`` (the threshold level) is drawn
    as a dotted horizontal line. ``ax``: draw into these Axes (one per facet group) instead of a
    new figure. Returns the figure the panels belong to.
    """
    groups = _groups(df, facets)
    fig, axes = _panels(len(groups), ax)
    relative = y == "relative_risk"
    titles = _labels(list(facets), [k for k, _ in groups])
    log_y = bool((df[y] > 0).all())
    for ax, title, (_, group) in zip(axes, titles, groups, strict=False):
        stair = False
        curves = group.groupby(curve, sort=True) if curve in group else [(None, group)]
        for i, (dval, g) in enumerate(curves):
            color = f"C{i % 10}"
            label = f"{curve} = {format_value(dval)}" if dval is not None else axis_label(y)
            _median_curve(ax, g, x, y, color, label)
            stair |= _draw_staircase(ax, g, float(dval or 0), color, x, relative)
        if eps is not None and math.isfinite(eps):
            ax.axhline(eps, color="0.3", ls=":", lw=1.2, label=f"ε = {eps:g}")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short ranges
        if log_y:
            ax.set_yscale("log")
        ax.set(xlabel=axis_label(x), ylabel=axis_label(y), title=textwrap.fill(title, 40))
        if stair:
            ax.plot([], [], "k--", alpha=0.6, label="kernel staircase")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    _share_y(axes[: len(groups)])
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
    """Median alignment ||W U^T||_F^2 / ||W||_F^2 vs n, one panel per facet group, a curve per d,
    every panel on the same y range [0, 1] (bars: ``INTERVAL``).

    ``ax``: draw into these Axes (one per facet group) instead of a new figure. Returns the
    figure the panels belong to.
    """
    groups = _groups(df, facets)
    fig, axes = _panels(len(groups), ax)
    titles = _labels(list(facets), [k for k, _ in groups])
    for ax, title, (_, group) in zip(axes, titles, groups, strict=False):
        curves = group.groupby(curve, sort=True) if curve in group else [(None, group)]
        for i, (dval, g) in enumerate(curves):
            label = f"{curve} = {format_value(dval)}" if dval is not None else axis_label(y)
            _median_curve(ax, g, x, y, f"C{i % 10}", label)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short ranges
        ax.set(xlabel=axis_label(x), ylabel=axis_label(y), title=textwrap.fill(title, 40))
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    return fig


def _reference_slopes(ax, th: pd.DataFrame, d: str) -> None:
    """Grey lines n* ∝ d² and n* ∝ d³ through the geometric mean of the thresholds at the smallest
    d that crosses: the network's and the kernel's theoretical rates, for the eye."""
    crossed = th[(th["censored"] == "") & np.isfinite(th["n_star"].astype(float))]
    if not len(crossed):
        return
    d0 = float(crossed[d].min())
    n0 = float(np.exp(np.log(crossed.loc[crossed[d] == d0, "n_star"].astype(float)).mean()))
    ds = np.geomspace(d0, float(th[d].max()), 20)
    for power, style in ((2, (0, (4, 2))), (3, (0, (1, 2)))):
        ax.plot(ds, n0 * (ds / d0) ** power, color="0.45", ls=style, lw=1.1,
                label=f"reference n* ∝ d{'²' if power == 2 else '³'}")  # fmt: skip


def _fit_line(ax, group, fit, d, color, label) -> None:
    if len(fit) and np.isfinite(fit["k"].iloc[0]):
        row = fit.iloc[0]
        ds = np.geomspace(group[d].min(), group[d].max(), 20)
        ci = f" [{row.ci_low:.2f}, {row.ci_high:.2f}]" if np.isfinite(row.ci_low) else ""
        at = f" at ε = {row.eps:g}" if "eps" in fit else ""
        ax.plot(ds, np.exp(row.intercept) * ds**row.k, "-", color=color,
                label=f"{label}: k = {row.k:.2f}{ci}{at}")  # fmt: skip
    else:
        ax.plot([], [], "o", color=color, label=f"{label}: no fit (< 2 crossing d)")


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
    n* = e^c d^k and its interval in the legend, and grey reference slopes n* ∝ d² and ∝ d³
    anchored at the smallest crossing d. Censored thresholds are drawn as open triangles at the
    grid end that bounds them (pointing up: n* beyond the largest n; down: below the smallest).

    ``ax``: draw into this Axes instead of a new figure. Returns the figure it belongs to.
    """
    if ax is None:
        fig = Figure(figsize=(6.4, 4.6), layout="constrained")
        ax = fig.subplots()
    elif isinstance(ax, Axes):
        fig = ax.figure.figure  # the top-level figure, also when ax lies in a SubFigure
    else:
        raise ConfigError(f"ax must be one matplotlib Axes; got {type(ax).__name__}")
    groups = _groups(th, facets)
    labels = _labels(list(facets), [k for k, _ in groups])
    for i, (key, group) in enumerate(groups):
        color = f"C{i % 10}"
        crossed = group[group["censored"] == ""]
        ax.plot(crossed[d], crossed["n_star"], "o", color=color)
        for side, marker in (("right", "^"), ("left", "v")):
            cens = group[group["censored"] == side]
            ax.plot(cens[d], cens["bound"], marker, mfc="none", color=color)
        keys = key if isinstance(key, tuple) else (key,)
        fit = fits
        for f, v in zip(facets, keys, strict=False):
            fit = fit[fit[f] == v]
        _fit_line(ax, group, fit, d, color, labels[i])
    _reference_slopes(ax, th, d)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ds = np.unique(th[d].to_numpy(np.float64))
    ax.set_xticks(ds, [f"{v:g}" for v in ds], minor=False, fontsize=7, rotation=45)
    ax.set_xticks([], minor=True)
    level = f"{eps:g}" if math.isfinite(eps) else "ε of its learner"
    ax.set(xlabel=axis_label(d), ylabel=f"n*  (smallest n with median risk ≤ {level})",
           title="thresholds n*(d), fitted n* ∝ d^k")  # fmt: skip
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return fig
