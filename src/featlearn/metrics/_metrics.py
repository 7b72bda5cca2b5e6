"""Excess risk and subspace alignment (DESIGN section 6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError, NumericalError, check_int
from featlearn.targets import Target

__all__ = ["RiskReport", "alignment", "excess_risk", "principal_angles"]


@dataclass(frozen=True)
class RiskReport:
    """E(yhat - f*)^2 on fresh noiseless points, its relative form (/ Var f*) and the standard error."""

    excess_risk: float
    relative_risk: float
    stderr: float
    n_test: int


def excess_risk(
    predict: Callable[[jnp.ndarray], jnp.ndarray],
    target: Target,
    *,
    key: jax.Array,
    n_test: int = 10_000,
    dtype=jnp.float32,
) -> RiskReport:
    """Excess risk of ``predict`` against f* on ``n_test`` fresh test points drawn from ``key``.

    Never a "test MSE": labels are noiseless, so the value estimates E(yhat - f*)^2 directly.
    """
    n_test = check_int("n_test", n_test, minimum=2)
    X, f = target.sample(n_test, key=key, noise=0.0, dtype=dtype)
    err = (np.asarray(predict(X), dtype=np.float64) - np.asarray(f, dtype=np.float64)) ** 2
    if not np.isfinite(err).all():
        raise NumericalError("risk: predictions hold NaN or inf")
    risk = float(err.mean())
    var = target.moments.variance
    return RiskReport(
        excess_risk=risk,
        relative_risk=risk / var if var > 0 else float("inf"),
        stderr=float(err.std(ddof=1) / np.sqrt(n_test)),
        n_test=n_test,
    )


def _check_pair(W, U) -> tuple[np.ndarray, np.ndarray]:
    W, U = np.asarray(W, dtype=np.float64), np.asarray(U, dtype=np.float64)
    if W.ndim != 2 or U.ndim != 2 or W.shape[1] != U.shape[1]:
        raise ConfigError(f"W (m, d) and U (r, d) must share d; got {W.shape} and {U.shape}")
    return W, U


def alignment(W, U) -> float:
    """Energy of W in span(U): ||W U^T||_F^2 / ||W||_F^2, in [0, 1] (U has orthonormal rows)."""
    W, U = _check_pair(W, U)
    total = float(np.sum(W**2))
    if total == 0:
        raise NumericalError("alignment: W is zero")
    return float(np.sum((W @ U.T) ** 2) / total)


def principal_angles(W, U) -> np.ndarray:
    """Principal angles (radians, ascending) between span of the top-r right singular vectors of W
    and span(U), r = rows of U."""
    W, U = _check_pair(W, U)
    r = U.shape[0]
    _, _, vt = np.linalg.svd(W, full_matrices=False)
    cos = np.linalg.svd(vt[:r] @ U.T, compute_uv=False)
    return np.sort(np.arccos(np.clip(cos, -1.0, 1.0)))
