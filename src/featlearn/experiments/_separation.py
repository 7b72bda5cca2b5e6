"""The separation at a fixed budget: risk vs d at n = c d^k, per learner (DESIGN section 7).

Pure functions on tables of ``fit`` records (one row per fitted cell). The theorem's own
statement needs no threshold: at n = c d^2 the layer-wise network's relative risk stays flat in d,
while any kernel's climbs towards the target's energy above degree 2; at n = c d^3 the kernel's is
flat too. These functions reduce the records to that picture:

- ``budget_table``: per (group, d), the median relative risk over seeds with a bootstrap interval
  of the median, and the medians of the learned fraction of each degree's energy;
- ``risk_trend``: the slope of log(relative risk) on log d over every seed, with a
  residual-bootstrap interval (``fit_exponent`` on (d, risk) pairs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from featlearn._errors import ConfigError, check_int
from featlearn.experiments._analysis import ExponentFit, fit_exponent

__all__ = ["budget_column", "budget_table", "median_interval", "risk_trend"]


def budget_column(df: pd.DataFrame, power: int) -> pd.Series:
    """n / d^power per row, rounded to 3 significant digits (the c of n = c d^power)."""
    c = df["n"].to_numpy(np.float64) / df["d"].to_numpy(np.float64) ** power
    return pd.Series(np.array([float(f"{v:.3g}") for v in c]), index=df.index)


def median_interval(
    values: Sequence[float], *, level: float = 0.9, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Median of ``values`` and the percentile-bootstrap interval of the median at ``level``.

    With 3 values the interval is close to their range: read it as the seed-to-seed spread.
    """
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], np.float64)
    if v.size == 0:
        return (np.nan, np.nan, np.nan)
    n_boot = check_int("n_boot", n_boot, minimum=1)
    rng = np.random.default_rng(seed)
    meds = np.median(v[rng.integers(0, v.size, size=(n_boot, v.size))], axis=1)
    lo, hi = np.quantile(meds, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(v)), float(lo), float(hi)


def _fractions(group: pd.DataFrame, column: str) -> list[float | None]:
    """Per degree, the median over rows of the per-degree list in ``column`` (None kept)."""
    lists = [v for v in group[column] if isinstance(v, list | tuple)]
    if not lists:
        return []
    out = []
    for k in range(max(len(v) for v in lists)):
        vals = [v[k] for v in lists if k < len(v) and v[k] is not None]
        out.append(float(np.median(vals)) if vals else None)
    return out


def budget_table(
    df: pd.DataFrame,
    *,
    by: Sequence[str] = ("learner",),
    y: str = "relative_risk",
    fractions: str | None = "learned_fraction",
    level: float = 0.9,
) -> pd.DataFrame:
    """Median risk vs d per group, with a bootstrap interval and per-degree learned fractions.

    Parameters
    ----------
    df : fit records with columns ``by``, ``d``, ``n`` and ``y`` (rows of one budget, e.g.
        selected by ``budget_column(df, 2) == 8``); failed cells (y missing) are dropped
    fractions : column of per-degree learned fractions (lists), or None

    Returns
    -------
    DataFrame with columns [*by, "d", "n", "seeds", "median", "ci_low", "ci_high",
    "fractions"], sorted by group then d.
    """
    by = list(by)
    missing = [c for c in [*by, "d", "n", y] if c not in df.columns]
    if missing:
        raise ConfigError(f"records must have columns {[*by, 'd', 'n', y]}; missing {missing}")
    df = df.assign(**{y: pd.to_numeric(df[y], errors="coerce")}).dropna(subset=[y])
    rows = []
    for key, group in df.groupby([*by, "d"], sort=True):
        med, lo, hi = median_interval(group[y].tolist(), level=level)
        frac = _fractions(group, fractions) if fractions and fractions in group else []
        n = int(np.median(group["n"]))
        rows.append((*key, n, len(group), med, lo, hi, frac))
    return pd.DataFrame(
        rows, columns=[*by, "d", "n", "seeds", "median", "ci_low", "ci_high", "fractions"]
    )


def risk_trend(df: pd.DataFrame, *, y: str = "relative_risk", n_boot: int = 1000) -> ExponentFit:
    """Slope of log(y) on log d over every row (all seeds), with a residual-bootstrap interval.

    0 means flat in d; a kernel at n = c d^2 climbing towards a plateau shows a positive slope.
    """
    vals = pd.to_numeric(df[y], errors="coerce")
    keep = vals.notna() & (vals > 0)
    return fit_exponent(df.loc[keep, "d"], vals[keep], n_boot=n_boot)
