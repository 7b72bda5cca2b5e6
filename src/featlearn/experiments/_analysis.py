"""Sample-complexity analysis: thresholds n*(eps) and the exponent k in n* ∝ d^k (DESIGN section 7).

Pure functions on tables of records (one row per fitted cell). The threshold of a learner at
dimension d is read from the *median* risk curve over replicates; the exponent is the
least-squares slope of log n* on log d. Two kinds of interval are offered:

- ``fit_exponent``: from the thresholds alone, by a residual bootstrap (leverage-corrected residuals
  resampled onto the fitted line). With 3-5 values of d this measures scatter about the line only.
- ``fit_exponent_from_runs``: from the replicates, by resampling the seeds inside every
  (group, d, n) cell and recomputing the median curves, thresholds and slope each time. This
  propagates the seed-to-seed variability of the risk into the exponent and is the preferred
  interval when the raw records are available.

Censoring convention (column ``censored``):

- ``""``      the median curve crosses eps inside the grid; ``n_star`` is interpolated;
- ``"right"`` it never reaches eps (n* > largest n of the grid); ``n_star`` is NaN;
- ``"left"``  it is already <= eps at the smallest n (n* <= smallest n); ``n_star`` is NaN.

``bound`` holds the grid end that brackets a censored n* (largest n for right, smallest for
left) and equals ``n_star`` otherwise, so censored points can be drawn as arrows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from featlearn._errors import ConfigError, check_int, check_real

__all__ = ["ExponentFit", "fit_exponent", "fit_exponent_from_runs", "thresholds"]


def _check_eps_level(eps: float, level: float | None = None) -> float:
    eps = check_real("eps", eps, minimum=0.0, strict=True)
    if level is not None and not 0.0 < level < 1.0:
        raise ConfigError(f"level must be in (0, 1); got {level}")
    return eps


def _check_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"df must be a pandas DataFrame; got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConfigError(f"df must have columns {list(columns)}; missing {missing}")


def _clean(df: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Rows with a usable (x, y): NaN/None y (failed cells) dropped; x, y must then be > 0."""
    df = df.assign(**{y: pd.to_numeric(df[y], errors="coerce")}).dropna(subset=[y])
    xs, ys = df[x].to_numpy(np.float64), df[y].to_numpy(np.float64)
    if not (np.isfinite(xs).all() and (xs > 0).all()):
        raise ConfigError(f"{x} must be finite and > 0 for log-log interpolation")
    if not (np.isfinite(ys).all() and (ys > 0).all()):
        raise ConfigError(f"{y} must be finite and > 0 for log-log interpolation")
    return df


def _crossing(xs: np.ndarray, med: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """First crossing of eps by curves med (..., X) on the grid xs (X,), ascending.

    Between the last point above eps, (x0, m0), and the first at or below, (x1, m1):
    log n* = log x0 + (log eps - log m0) (log x1 - log x0) / (log m1 - log m0).
    Returns (n_star with NaN where censored, side code: 0 crossed, 1 right, -1 left).
    """
    below = med <= eps
    hit = below.any(axis=-1)
    i = np.argmax(below, axis=-1)
    side = np.where(~hit, 1, np.where(i == 0, -1, 0))
    j0 = np.clip(i - 1, 0, None)
    lx, lm = np.log(xs), np.log(med)
    lx0, lx1 = lx[j0], lx[i]
    lm0 = np.take_along_axis(lm, j0[..., None], -1)[..., 0]
    lm1 = np.take_along_axis(lm, i[..., None], -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(lm1 < lm0, (np.log(eps) - lm0) / (lm1 - lm0), 1.0)
    n_star = np.exp(lx0 + np.clip(t, 0.0, 1.0) * (lx1 - lx0))
    return np.where(side == 0, n_star, np.nan), side


_SIDES = {0: "", 1: "right", -1: "left"}


def thresholds(
    df: pd.DataFrame,
    eps: float,
    *,
    by: Sequence[str] = ("learner", "d"),
    x: str = "n",
    y: str = "relative_risk",
) -> pd.DataFrame:
    """Threshold n*(eps) per group: the smallest x at which the median curve of y reaches eps.

    For each group of ``by``, y is reduced to its median over replicates at each x; n* is the first
    crossing of eps by that curve, interpolated linearly in (log x, log y) between the last grid
    point above eps and the first at or below it (exactly that point when it equals eps).
    Rows whose y is missing (NaN/None, e.g. failed cells) are dropped first.

    Parameters
    ----------
    df : table with columns ``by``, ``x`` and ``y``; x and y positive
    eps : threshold on y, > 0
    by : grouping columns; x : sample-size column; y : risk column

    Returns
    -------
    DataFrame with columns [*by, "n_star", "censored", "bound"], one row per group: n_star is
    NaN when censored; censored is "" (crossed), "right" (never reaches eps on the grid) or
    "left" (already <= eps at the smallest x); bound is the bracketing grid end when censored.
    """
    eps = _check_eps_level(eps)
    by = list(by)
    _check_columns(df, [*by, x, y])
    df = _clean(df, x, y)
    rows = []
    for key, group in df.groupby(by, sort=True) if by else [((), df)]:
        curve = group.groupby(x)[y].median().sort_index()
        xs, med = curve.index.to_numpy(np.float64), curve.to_numpy(np.float64)
        n_star, side = _crossing(xs, med, eps)
        side = int(side)
        bound = {0: float(n_star), 1: xs[-1], -1: xs[0]}[side]
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, float(n_star), _SIDES[side], float(bound)))
    return pd.DataFrame(rows, columns=[*by, "n_star", "censored", "bound"])


@dataclass(frozen=True)
class ExponentFit:
    """Least-squares fit log n* = k log d + intercept, with a bootstrap interval for k.

    k, intercept : point estimates; ci_low, ci_high : interval for k at ``level`` (NaN when no
    interval can be formed, e.g. from 2 points); n_points : number of d used; method : how the
    interval was made (``residual-bootstrap``, ``replicate-bootstrap``, ``none``).
    """

    k: float
    intercept: float
    ci_low: float
    ci_high: float
    n_points: int
    method: str
    level: float = 0.9

    def overlaps(self, other: ExponentFit) -> bool:
        """Whether the two intervals intersect (NaN intervals count as overlapping)."""
        if np.isnan([self.ci_low, self.ci_high, other.ci_low, other.ci_high]).any():
            return True
        return self.ci_low <= other.ci_high and other.ci_low <= self.ci_high


def _slopes(logd: np.ndarray, logn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS slope and intercept of logn (..., P) on logd (P,), vectorised over leading axes."""
    dc = logd - logd.mean()
    k = (logn - logn.mean(axis=-1, keepdims=True)) @ dc / (dc @ dc)
    return k, logn.mean(axis=-1) - k * logd.mean()


def _points(d, n_star) -> tuple[np.ndarray, np.ndarray]:
    d, n_star = np.asarray(d, np.float64).ravel(), np.asarray(n_star, np.float64).ravel()
    if d.shape != n_star.shape:
        raise ConfigError(f"d and n_star must have the same length; got {d.size} and {n_star.size}")
    keep = np.isfinite(n_star)
    d, n_star = d[keep], n_star[keep]
    if (d <= 0).any() or not np.isfinite(d).all() or (n_star <= 0).any():
        raise ConfigError("d and n_star must be finite and > 0")
    if np.unique(d).size < 2:
        raise ConfigError(
            f"fitting an exponent needs finite n_star at >= 2 distinct d; got {np.unique(d).size}"
        )
    return np.log(d), np.log(n_star)


def fit_exponent(
    d, n_star, *, n_boot: int = 1000, seed: int = 0, level: float = 0.9
) -> ExponentFit:
    """Exponent k in n* ∝ d^k: least squares of log n* on log d, residual-bootstrap interval.

    Non-finite n_star (censored thresholds) are dropped; ``n_points`` counts those kept. The
    interval resamples the leverage-corrected residuals e_i / sqrt(1 - h_i) (centred) onto the
    fitted line and takes the (1 - level)/2 and (1 + level)/2 quantiles of the refitted slopes.
    With only 2 points the line is exact and no interval is formed (NaN, method ``none``).

    Parameters
    ----------
    d, n_star : arrays (P,) of dimensions and thresholds
    n_boot : bootstrap resamples; seed : their RNG seed; level : interval coverage in (0, 1)
    """
    _check_eps_level(1.0, level)
    n_boot = check_int("n_boot", n_boot, minimum=1)
    logd, logn = _points(d, n_star)
    k, c = _slopes(logd, logn)
    P = logd.size
    if P == 2:
        return ExponentFit(float(k), float(c), np.nan, np.nan, 2, "none", level)
    fitted = c + k * logd
    dc = logd - logd.mean()
    h = 1.0 / P + dc**2 / (dc @ dc)
    resid = (logn - fitted) / np.sqrt(1.0 - h)
    resid -= resid.mean()
    rng = np.random.default_rng(seed)
    boot = fitted + rng.choice(resid, size=(n_boot, P), replace=True)
    ks, _ = _slopes(logd, boot)
    lo, hi = np.quantile(ks, [(1 - level) / 2, (1 + level) / 2])
    return ExponentFit(float(k), float(c), float(lo), float(hi), P, "residual-bootstrap", level)


def _paired_medians(dgroup: pd.DataFrame, pair, x, y, rng, n_boot) -> tuple:
    """Grid xs and bootstrap medians (n_boot, X) from whole curves (one per value of ``pair``)
    resampled together: a paired curve's points share their randomness, so they move as one."""
    table = dgroup.pivot_table(index=pair, columns=x, values=y, aggfunc="median").sort_index(axis=1)
    vals = table.to_numpy(np.float64)  # (curves, X), NaN where a cell failed
    idx = rng.integers(0, vals.shape[0], size=(n_boot, vals.shape[0]))
    return table.columns.to_numpy(np.float64), np.nanmedian(vals[idx], axis=1)


def _cell_medians(group: pd.DataFrame, dcol, x, y, rng, n_boot, pair=None) -> dict[float, tuple]:
    """Per d: grid xs and bootstrap medians (n_boot, X) from seeds resampled inside each cell,
    or from whole paired curves when ``pair`` names the column that identifies a curve."""
    out = {}
    for dval, dgroup in group.groupby(dcol, sort=True):
        if pair is not None:
            out[float(dval)] = _paired_medians(dgroup, pair, x, y, rng, n_boot)
            continue
        xs, cols = [], []
        for xval, cell in dgroup.groupby(x, sort=True):
            vals = cell[y].to_numpy(np.float64)
            idx = rng.integers(0, vals.size, size=(n_boot, vals.size))
            xs.append(float(xval))
            cols.append(np.median(vals[idx], axis=1))
        out[float(dval)] = (np.array(xs), np.stack(cols, axis=1))
    return out


def fit_exponent_from_runs(
    df: pd.DataFrame,
    eps: float,
    *,
    by: Sequence[str] = ("learner",),
    d: str = "d",
    x: str = "n",
    y: str = "relative_risk",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.9,
    pair: str | None = None,
) -> pd.DataFrame:
    """Exponent per group of ``by`` with an interval from bootstrapping the replicates.

    The point estimate is ``fit_exponent`` on ``thresholds(df, eps, by=[*by, d])`` (censored d
    dropped). For the interval, each bootstrap draw resamples, with replacement, the replicate
    rows inside every (group, d, x) cell, recomputes the median curves, the thresholds and the
    slope over the d that cross in the point estimate; a draw in which any of them does not cross
    is discarded. The interval is the quantile
    range of the kept slopes; ``n_boot_used`` says how many were kept. With few replicates per
    cell (2-3) the interval reflects only that much seed variability: read it as a lower bound
    on the uncertainty. A group with fewer than 2 crossing d gets NaN k and method ``none``.
    ``pair``: a column identifying paired curves (e.g. ``pair_seed``: one U, initialisation and
    test set per (d, value), shared across n); when given and present, whole curves are resampled
    instead of cells, keeping the pairing (method ``paired-bootstrap``).

    Returns
    -------
    DataFrame with columns [*by, "k", "intercept", "ci_low", "ci_high", "n_points", "method",
    "level", "n_censored", "n_boot_used"], one row per group.
    """
    eps = _check_eps_level(eps, level)
    n_boot = check_int("n_boot", n_boot, minimum=1)
    by = list(by)
    _check_columns(df, [*by, d, x, y])
    df = _clean(df, x, y)
    th = thresholds(df, eps, by=[*by, d], x=x, y=y)
    rng = np.random.default_rng(seed)
    rows = []
    groups = df.groupby(by, sort=True) if by else [((), df)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        sel = th.loc[(th[by] == pd.Series(key, index=by)).all(axis=1)] if by else th
        crossed = sel.loc[sel["censored"] == "", d].to_numpy(np.float64)
        n_cens = int((sel["censored"] != "").sum())
        if np.unique(crossed).size < 2:  # no line: report the group, do not fail the table
            rows.append((*key, *(np.nan,) * 4, crossed.size, "none", level, n_cens, 0))
            continue
        point = fit_exponent(sel[d], sel["n_star"], n_boot=1, level=level)
        paired = pair if pair is not None and pair in group and group[pair].notna().all() else None
        curves = _cell_medians(group, d, x, y, rng, n_boot, paired)
        ks = _replicate_slopes(curves, eps, crossed)
        lo, hi = np.quantile(ks, [(1 - level) / 2, (1 + level) / 2]) if ks.size else (np.nan,) * 2
        rows.append(
            (*key, point.k, point.intercept, float(lo), float(hi), point.n_points,
             "paired-bootstrap" if paired else "replicate-bootstrap", level, n_cens,
             int(ks.size))
        )  # fmt: skip
    cols = ["k", "intercept", "ci_low", "ci_high", "n_points", "method", "level", "n_censored"]
    return pd.DataFrame(rows, columns=[*by, *cols, "n_boot_used"])


def _replicate_slopes(curves: dict[float, tuple], eps: float, ds: np.ndarray) -> np.ndarray:
    """Slopes of log n* on log d over the d in ``ds`` (those crossing in the point estimate), one
    per bootstrap draw; draws in which any of them is censored are dropped."""
    n_star = np.stack([_crossing(*curves[float(dv)], eps)[0] for dv in ds], axis=1)  # (B, P)
    ok = np.isfinite(n_star).all(axis=1)
    return _slopes(np.log(ds), np.log(n_star[ok]))[0]
