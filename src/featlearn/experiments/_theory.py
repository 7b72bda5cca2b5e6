"""Measured kernel risks against the parameter-free learning-curve theory (DESIGN section 6).

For kernel-ridge records on sphere inputs, the theory (``featlearn.metrics.kernel_theory_risk``)
is evaluated at each record's own d, number of fitted samples and chosen ridge (delta = n_fit lam,
lam as recorded in the ridge core's convention), with the target's exact energy per harmonic
degree on the sphere. Nothing is fitted: the theory sees only the kernel, d, n, lam and the target.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np
import pandas as pd

from featlearn.kernels import make_kernel
from featlearn.metrics import kernel_theory_risk
from featlearn.targets import make_target

__all__ = ["theory_relative_risk", "theory_rows", "theory_slope"]


def _n_fit(row: Any) -> int:
    """Samples the kernel was fitted on: n, less the holdout when validation is a holdout."""
    n_fit = row.get("n_fit")
    if n_fit is not None and not (isinstance(n_fit, float) and math.isnan(n_fit)):
        return int(n_fit)
    return int(row["n"])


def _setting(row: Any) -> tuple[Any, np.ndarray, float]:
    """(kernel, sphere energies per degree, variance) of a record's kernel and target; options
    are read flattened (``options.kernel``, a results-table row) or nested (a config)."""
    opts = row.get("options") if isinstance(row.get("options"), dict) else {}
    option = lambda key, default: row.get(f"options.{key}") or opts.get(key) or default  # noqa: E731
    kernel = make_kernel(option("kernel", "ntk"), activation=option("activation", "relu"))
    target = make_target(row["target"], int(row["d"]), key=jax.random.key(0), inputs="sphere")
    moments = target.moments
    return kernel, np.asarray(moments.energy_per_degree, np.float64), moments.variance


def theory_relative_risk(row: Any, n=None, lam=None):
    """The theory's relative excess risk for one kernel-ridge record (a mapping of its columns),
    at its own n_fit and lambda unless given; n and lam may be arrays (they broadcast, and the
    kernel's spectrum is computed once for all of them)."""
    kernel, energies, variance = _setting(row)
    n = _n_fit(row) if n is None else n
    lam = float(row["lambda"]) if lam is None else lam
    noise = float(row.get("noise") or 0.0)
    risk = kernel_theory_risk(kernel, int(row["d"]), energies, n, lam, noise=noise) / variance
    return float(risk) if np.ndim(risk) == 0 else np.asarray(risk)


def theory_rows(rows: pd.DataFrame, table: list[dict]) -> tuple[list[dict], dict[str, Any]]:
    """Per d: the measured median relative risk, the median of the theory over the same records,
    their ratio; and the verdict that every ratio is within ``_claims.THEORY_TOL`` of 1."""
    from featlearn.experiments._claims import RULES, THEORY_TOL

    out = []
    for entry in table:
        group = rows[rows["d"] == entry["d"]]
        n_fit = np.array([_n_fit(r) for _, r in group.iterrows()], np.float64)
        lam = pd.to_numeric(group["lambda"]).to_numpy(np.float64)
        t = float(np.median(theory_relative_risk(group.iloc[0].to_dict(), n=n_fit, lam=lam)))
        out.append({"d": entry["d"], "n": entry["n"], "measured": entry["median"], "theory": t,
                    "ratio": entry["median"] / t if t > 0 else math.inf})  # fmt: skip
    worst = max(abs(r["ratio"] - 1.0) for r in out)
    text = ", ".join(f"d={r['d']}: {r['measured']:.3f} vs {r['theory']:.3f}" for r in out)
    verdict = {
        "claim": "kernel risk on the sphere matches the parameter-free theory",
        "shown": bool(worst <= THEORY_TOL),
        "evidence": f"measured vs theory: {text} (largest relative gap {worst:.0%}; "
        f"allowed {THEORY_TOL:.0%})",
        "rule": RULES["S5"],
    }
    return out, verdict


def _crossing(ns: np.ndarray, risks: np.ndarray, eps: float) -> float:
    """First n at which risks falls to eps, interpolated in log-log; NaN if it never does."""
    below = np.nonzero(risks <= eps)[0]
    if not below.size or below[0] == 0:
        return math.nan
    i = below[0]
    lx, ly = np.log(ns[i - 1 : i + 1]), np.log(risks[i - 1 : i + 1])
    return float(np.exp(lx[0] + (math.log(eps) - ly[0]) * (lx[1] - lx[0]) / (ly[1] - ly[0])))


def theory_slope(rows: pd.DataFrame, eps: float) -> float | None:
    """Slope of log n*(d) on log d of the theory's thresholds at ``eps`` over the d of ``rows``
    (kernel-ridge records), each d at the median ridge delta = n_fit lam of its records."""
    ds, stars = [], []
    for d, group in rows.groupby("d"):
        row = group.iloc[0].to_dict()
        delta = float(np.median([_n_fit(r) * float(r["lambda"]) for _, r in group.iterrows()]))
        ns = np.geomspace(10.0, 1e8, 300)
        risks = np.atleast_1d(theory_relative_risk(row, n=ns, lam=delta / ns))
        stars.append(_crossing(ns, risks, eps))
        ds.append(float(d))
    ds_arr, st = np.log(ds), np.log(stars)
    keep = np.isfinite(st)
    if keep.sum() < 2:
        return None
    return float(np.polyfit(ds_arr[keep], st[keep], 1)[0])


from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
