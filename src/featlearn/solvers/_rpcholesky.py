"""Randomly pivoted Cholesky and the low-rank (Woodbury) preconditioner built from it.

Block RPCholesky (Chen, Epperly, Tropp and Webber, "Randomly pivoted Cholesky: practical
approximation of a kernel matrix with few entry evaluations", 2022, Algorithm 2 with blocks):
keep the residual diagonal d = diag(K - F F^T); draw s pivots S with probability proportional
to d (without replacement); G = K[:, S] - F F[S]^T; with H = G[S] = Q W Q^T, append
G Q W^{-1/2} (directions of H below 1e-12 of its largest are dropped, so a repeated or dependent
pivot cannot break it) and update d. Only the columns K[:, S] are evaluated: n * rank kernel
entries, O(n rank^2) flops. K - F F^T is a Schur complement, hence PSD, and tr(K - F F^T) = sum d.

Preconditioner (Diaz, Epperly, Frangella, Tropp and Webber, "Robust, randomized preconditioning
for kernel ridge regression", 2023): P = F F^T + (mu + rho) I for the system K + mu I, applied by
the Woodbury identity through the small SPD matrix (s I + F^T F):

    P^{-1} r = (r - F (s I + F^T F)^{-1} F^T r) / s,   s = mu + rho,

by its Cholesky factor for one or two shifts (0.15 s at rank 2048), or for a grid by the
eigendecomposition F^T F = W Lam W^T (1.8 s once), which serves every shift; F does not depend
on mu, so one factor serves every lam. rho = tr(K - F F^T) / n,
the mean residual diagonal, stands in for the part of K that F misses (as Frangella, Tropp and
Udell's Nyström preconditioner uses the smallest kept eigenvalue): K + mu I <= (1 + |E|/(mu+rho))P
and K + mu I >= mu/(mu+rho) P give the same condition bound 1 + |E|/mu as rho = 0, and for the
flat residual of a high-dimensional kernel (E ~ rho I) a far better one (measured: 42 instead of
89 CG steps at mu = 1e-8 tr(K)/n, NTK, d = 32, n = 8192, rank 1152).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from featlearn._errors import ConfigError, NumericalError, check_int, check_real
from featlearn.solvers._lapack import sla

__all__ = ["LowRankPreconditioner", "RPCholesky", "rpcholesky"]

Columns = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class RPCholesky:
    """K ~ F F^T with F (n, rank) float64 (or float32), the pivots in the order drawn, and the
    residual diagonal diag(K - F F^T) (n,), which is >= 0 and sums to the trace error."""

    factor: np.ndarray  # (n, rank)
    pivots: np.ndarray  # (rank',) indices into 0..n-1 (rank' >= rank when directions were dropped)
    residual_diag: np.ndarray  # (n,)

    @property
    def rank(self) -> int:
        return int(self.factor.shape[1])

    @property
    def trace_error(self) -> float:
        return float(np.sum(self.residual_diag))


def _draw(rng: np.random.Generator, d: np.ndarray, s: int) -> np.ndarray:
    """s distinct indices drawn with probability proportional to d, without replacement: the s
    largest log d_i + Gumbel noise (Gumbel top-k), in NumPy (JAX's version compiled a program per
    shape and ran eagerly: 0.8 s of a 7 s preconditioner at n = 2e4)."""
    s = min(s, int(np.count_nonzero(d)))
    with np.errstate(divide="ignore"):
        score = np.log(d) + rng.gumbel(size=d.shape[0])
    return np.sort(np.argpartition(-score, s - 1)[:s])


_DROP = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}  # of H's largest eigenvalue


def _block_step(G: np.ndarray, S: np.ndarray) -> np.ndarray:
    """New columns G Q W^{-1/2} from the s x s pivot block H = G[S] = Q W Q^T, in G's dtype.
    Directions of H below ``_DROP`` of its largest are dropped: round-off (float64), or what
    float32's error of ~6e-8 |K| in G could make of them (float32, where the factor is used only
    while the residual is >= 1e-3 of K's trace, so that error is <= 6e-5 of H's scale)."""
    H = (G[S] + G[S].T) / 2  # symmetric to round-off; make it exactly so for eigh
    w, Q = np.linalg.eigh(H)
    keep = w > _DROP[G.dtype] * max(float(w[-1]), np.finfo(np.float64).tiny)
    return G @ (Q[:, keep] / np.sqrt(w[keep]))


def rpcholesky(
    columns: Columns,
    diag,
    *,
    rank: int,
    key: jax.Array,
    block: int = 128,
    stall: float | None = None,
    dtype=np.float64,
) -> RPCholesky:
    """Block randomly pivoted Cholesky of a PSD matrix K (n, n) known through its columns.

    Parameters
    ----------
    columns : ``columns(S)`` returns K[:, S], shape (n, len(S)), float64.
    diag : (n,) the diagonal of K.
    rank : the largest rank to reach (>= 1; capped at n).
    key : JAX PRNG key for the pivot draws.
    block : pivots drawn per step.
    stall : adaptive stop: end once a block's pivots remove on average less than ``stall`` times
        the mean residual diagonal from the trace, i.e. once they explain no more than a typical
        column would (the spiked low-degree part of the kernel is captured, what is left is
        close to flat). None: run to ``rank``.
    dtype : float64 (default) or float32, of the columns, the updates and F. The residual
        diagonal is kept in float64 either way. float32 halves the work and is a fine
        preconditioner while the residual is well above float32's error of ~6e-8 |K| (the
        caller checks ``trace_error``; ``pcg_ridge`` falls back to float64 below 1e-3 of tr K).

    Returns
    -------
    RPCholesky with K ~ F F^T, F (n, rank' <= rank).
    """
    rank = check_int("rank", rank, minimum=1)
    block = check_int("block", block, minimum=1)
    if stall is not None:
        check_real("stall", stall, minimum=1.0)
    d = np.array(diag, dtype=np.float64, copy=True)
    n = d.shape[0]
    if not np.isfinite(d).all() or (d < 0).any():
        raise NumericalError("RPCholesky: the kernel diagonal holds NaN, inf or negative values")
    rank = min(rank, n)
    dtype = np.dtype(dtype)
    if dtype not in _DROP:
        raise ConfigError(f"dtype must be float64 or float32; got {dtype}")
    # column-major: F[:, :r] is a contiguous GEMM operand
    F = np.zeros((n, rank), dtype=dtype, order="F")
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)))
    r, pivots = 0, []
    while r < rank and d.sum() > 0:
        S = _draw(rng, d, min(block, rank - r))
        G = F[:, :r] @ F[S, :r].T
        np.subtract(np.asarray(columns(S), dtype=dtype), G, out=G)  # no second n x s array
        new = _block_step(G, S)  # at most len(S) <= rank - r columns
        if new.shape[1] == 0:
            break
        before = d.sum()
        F[:, r : r + new.shape[1]] = new
        r += new.shape[1]
        pivots.extend(S.tolist())
        # row norms, no n x s temporary, summed in float64 whatever F's dtype
        d = np.maximum(d - np.einsum("ij,ij->i", new, new, dtype=np.float64), 0.0)
        d[S] = 0.0  # exactly explained (up to round-off) by the new columns
        left = max(n - r, 1)  # rows not yet pivots: the mean is over them
        if stall is not None and (before - d.sum()) < stall * len(S) * d.sum() / left:
            break
    if not np.isfinite(F[:, :r]).all():
        raise NumericalError("RPCholesky: the factor holds NaN or inf")
    return RPCholesky(F[:, :r], np.asarray(pivots, dtype=np.int64), d)


class LowRankPreconditioner:
    """P_l = F F^T + s_l I, s_l = mu_l + rho, applied to column l by Woodbury:

        P^{-1} R = (R - F (s I + F^T F)^{-1} F^T R) / s.

    The rank x rank solve comes from a Cholesky factor of (s I + F^T F) for each of the shifts
    ``mus`` named at construction when they are at most ``CHOLESKY_SHIFTS`` (one factor costs
    rank^3 / 3 flops: 0.15 s at rank 2048, against 1.8 s for the eigendecomposition), and
    otherwise from the eigendecomposition F^T F = W Lam W^T, which serves every shift from one
    rank x rank matrix (memory: at most two rank x rank matrices are kept either way). A shift
    not named, or whose Cholesky fails (s below round-off of |F^T F|), uses the
    eigendecomposition.

    The two products with F (n x rank) are the cost of an application: two passes over F, which
    is memory-bound. They run in float32 (``single``) when that is accurate: R - F T cancels to
    the part of R outside range(F), which is divided by s, so float32 products leave an error of
    about eps32 (1 + sqrt(|F^T F| / s)) |R| / s, eps32 = 1.2e-7 (|T| <= |R| / (2 sqrt(s)) and
    |F| <= sqrt(|F^T F|)); relative to P^{-1} R, whose scale is |R| / s, that is the bound
    ``single_error(s)``. ``single=None`` chooses float32 when the bound is at most
    ``SINGLE_ERROR`` for every named shift (measured: 9e-7 against a bound of 2e-5, NTK, d = 32,
    n = 2e4, rank 1536; the same CG steps, and half the 0.027 s of an application). A
    preconditioner need not be exact: the refinement's float64 residuals decide when the answer
    is accurate, whatever P is. A shift that fails the bound is applied in float64 (F widened
    once). The small solves and F^T F are float64 either way. Float64 is kept where s is tiny
    against |F^T F| (a low-rank kernel, rho ~ 0, small lam).
    """

    CHOLESKY_SHIFTS = 2
    SINGLE_ERROR = 1e-4
    EPS32 = float(np.finfo(np.float32).eps)

    def __init__(
        self, factor: np.ndarray, *, rho: float = 0.0, mus=None, single: bool | None = None
    ) -> None:
        factor = np.asarray(factor)
        F = factor.astype(np.float64, copy=False)  # F^T F in float64 whatever F's dtype
        self.rho = check_real("rho", rho, minimum=0.0)
        self._factors: dict[float, Any] = {}
        self._eigh: tuple[np.ndarray, np.ndarray] | None = None
        shifts = [] if mus is None else sorted({float(m) + self.rho for m in np.atleast_1d(mus)})
        gram = F.T @ F
        self._norm = float(np.trace(gram))  # >= |F^T F|: the bound's scale
        if 0 < len(shifts) <= self.CHOLESKY_SHIFTS:
            for s in shifts:
                try:
                    S = gram.copy()
                    S[np.diag_indices_from(S)] += s
                    self._factors[s] = sla().cho_factor(
                        S, lower=True, overwrite_a=True, check_finite=False
                    )
                except np.linalg.LinAlgError:
                    self._factors.clear()
                    break
        if not self._factors:
            self._eigh = self._eigendecomposition(gram)
        if single is None:
            single = bool(shifts) and all(
                self.single_error(s) <= self.SINGLE_ERROR for s in shifts if s > 0
            )
        self.single = bool(single)
        # column-major either way: F^T R and F T are then plain GEMV/GEMM calls; a factor
        # already in the dtype wanted (RPCholesky's float32 F) is kept, not copied
        dtype = np.dtype(np.float32 if self.single else np.float64)
        self.F = np.asfortranarray(factor if factor.dtype == dtype else F, dtype=dtype)
        self._wide: np.ndarray | None = None if self.single else self.F

    def single_error(self, s: float) -> float:
        """Bound on |P^{-1} R in float32 - P^{-1} R| / (|R| / s) for shift s (class docstring)."""
        return self.EPS32 * (1.0 + math.sqrt(self._norm / s)) if s > 0 else math.inf

    def _float64(self) -> np.ndarray:
        """F in float64 (the float32 F widened once, when first needed)."""
        if self._wide is None:
            self._wide = self.F.astype(np.float64)
        return self._wide

    @staticmethod
    def _eigendecomposition(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lam, W = np.linalg.eigh(gram)
        return np.clip(lam, 0.0, None), W

    def _solve(self, T: np.ndarray, s: float) -> np.ndarray:
        """(s I + F^T F)^{-1} T for one shift s, T (rank, 1)."""
        if s in self._factors:
            return sla().cho_solve(self._factors[s], T, check_finite=False)
        if self._eigh is None:  # a shift not named at construction: F^T F again, once
            F = self._float64()
            self._eigh = self._eigendecomposition(F.T @ F)
        lam, W = self._eigh
        return W @ ((W.T @ T) / (lam + s)[:, None])

    def __call__(self, R: np.ndarray, mus) -> np.ndarray:
        """P^{-1} R for R (n, L), one shift mu_l per column (mus (L,))."""
        shift = np.asarray(mus, dtype=np.float64) + self.rho
        if (shift <= 0).any():
            raise ConfigError(f"preconditioner shift mu + rho must be > 0; got {shift.min():g}")
        R = np.asarray(R, dtype=np.float64)
        single = self.single and all(
            self.single_error(s) <= self.SINGLE_ERROR for s in shift.tolist()
        )
        if single:
            T = (self.F.T @ R.astype(np.float32)).astype(np.float64)  # (rank, L)
        else:
            T = self._float64().T @ R
        for col, s in enumerate(shift.tolist()):
            T[:, col : col + 1] = self._solve(T[:, col : col + 1], s)
        FT = (self.F @ T.astype(np.float32)).astype(np.float64) if single else self._float64() @ T
        return (R - FT) / shift
