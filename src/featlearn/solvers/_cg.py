"""Preconditioned conjugate gradients on several right-hand sides at once.

Each column of B is its own symmetric positive-definite system (possibly with its own operator,
e.g. one ridge penalty per column): the operator is applied to all columns together, which is what
makes a Nyström pass over the data serve every lambda of a grid at the same cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from featlearn._errors import NumericalError, check_int, check_real

__all__ = ["CGResult", "conjugate_gradient"]

Operator = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class CGResult:
    """Solution x (m, L), operator applications, relative residual |b - A x| / |b| per column,
    and whether every column met the tolerance."""

    x: np.ndarray
    iterations: int
    residuals: np.ndarray
    converged: bool


def conjugate_gradient(
    matvec: Operator,
    B: np.ndarray,
    *,
    precond: Operator | None = None,
    rtol: float = 1e-10,
    max_iter: int = 100,
) -> CGResult:
    """Solve A_l x_l = b_l for every column l of B (m, L) by preconditioned CG, in float64.

    ``matvec(P)`` returns the columns A_l p_l stacked as (m, L); ``precond(R)`` applies an SPD
    approximation of A_l^{-1} column by column (identity if None). Stops when every column has
    |r_l| <= rtol |b_l| or after ``max_iter`` operator applications; converged columns stop moving.
    """
    rtol = check_real("rtol", rtol, minimum=0.0)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    B = np.asarray(B, dtype=np.float64)
    squeeze = B.ndim == 1
    B = B[:, None] if squeeze else B
    X = np.zeros_like(B)
    R = B.copy()
    Z = np.asarray(precond(R), dtype=np.float64) if precond else R
    P = Z.copy()
    rz = np.sum(R * Z, axis=0)
    bnorm = np.linalg.norm(B, axis=0)
    target = rtol * bnorm
    it = 0
    while it < max_iter:
        active = np.linalg.norm(R, axis=0) > target
        if not active.any():
            break
        AP = np.asarray(matvec(P), dtype=np.float64)
        it += 1
        pap = np.sum(P * AP, axis=0)
        if not np.isfinite(pap).all():
            raise NumericalError("conjugate gradient: the operator returned NaN or inf")
        alpha = np.where(active & (pap > 0), rz / np.where(pap > 0, pap, 1.0), 0.0)
        X += alpha * P
        R -= alpha * AP
        Z = np.asarray(precond(R), dtype=np.float64) if precond else R
        rz_new = np.sum(R * Z, axis=0)
        beta = np.where(active & (rz > 0), rz_new / np.where(rz > 0, rz, 1.0), 0.0)
        P = Z + beta * P
        rz = rz_new
    res = np.linalg.norm(R, axis=0) / np.where(bnorm > 0, bnorm, 1.0)
    met = bool((res <= rtol).all())
    return CGResult(X[:, 0] if squeeze else X, it, res, met)
