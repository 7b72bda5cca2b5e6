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
    by_column: bool = False,
) -> CGResult:
    """Solve A_l x_l = b_l for every column l of B (m, L) by preconditioned CG, in float64.

    ``matvec(P)`` returns the columns A_l p_l stacked as (m, L); ``precond(R)`` applies an SPD
    approximation of A_l^{-1} column by column (identity if None). Stops when every column has
    |r_l| <= rtol |b_l| or after ``max_iter`` operator applications; converged columns stop moving.

    ``by_column``: the operator's cost grows with the number of columns (one pass per column),
    so only the columns still open are passed, as ``matvec(P_open, idx)`` and
    ``precond(R_open, idx)`` with ``idx`` their indices into B's columns. Without it, every
    column is passed every time (right for an operator whose one pass serves all columns).
    """
    rtol = check_real("rtol", rtol, minimum=0.0)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    B = np.asarray(B, dtype=np.float64)
    squeeze = B.ndim == 1
    B = B[:, None] if squeeze else B
    every = np.arange(B.shape[1])

    def apply(f, V, idx):
        if f is None:
            return V[:, idx]
        if by_column:
            return np.asarray(f(V[:, idx], idx), dtype=np.float64)
        return np.asarray(f(V), dtype=np.float64)[:, idx]

    X = np.zeros_like(B)
    R = B.copy()
    P = apply(precond, R, every)
    rz = np.sum(R * P, axis=0)
    bnorm = np.linalg.norm(B, axis=0)
    target = rtol * bnorm
    it = 0
    while it < max_iter:
        idx = np.flatnonzero(np.linalg.norm(R, axis=0) > target)
        if idx.size == 0:
            break
        AP = apply(matvec, P, idx)
        it += 1
        Pa = P[:, idx]
        pap = np.sum(Pa * AP, axis=0)
        if not np.isfinite(pap).all():
            raise NumericalError("conjugate gradient: the operator returned NaN or inf")
        alpha = np.where(pap > 0, rz[idx] / np.where(pap > 0, pap, 1.0), 0.0)
        X[:, idx] += alpha * Pa
        R[:, idx] -= alpha * AP
        Z = apply(precond, R, idx)
        rz_new = np.sum(R[:, idx] * Z, axis=0)
        old = rz[idx]
        beta = np.where(old > 0, rz_new / np.where(old > 0, old, 1.0), 0.0)
        P[:, idx] = Z + beta * Pa
        rz[idx] = rz_new
    res = np.linalg.norm(R, axis=0) / np.where(bnorm > 0, bnorm, 1.0)
    met = bool((res <= rtol).all())
    return CGResult(X[:, 0] if squeeze else X, it, res, met)
