"""Exact kernel ridge by preconditioned conjugate gradients with iterative refinement.

Solves, for every lam_l of a grid at once,

    (K + n lam_l I) alpha_l = y - mean(y),        K = kernel(X, X) (n, n),

to the accuracy of a dense float64 solve, in O(n^2) time per pass instead of O(n^3):

1. Preconditioner: block randomly pivoted Cholesky K ~ F F^T (``_rpcholesky``; in float32
   unless what it leaves is below 1e-3 of tr K, ``_factor``), rank adaptive (at most
   ``pcg_rank(n)``, ~11 sqrt(n): the factor's n rank^2 flops against the CG steps it saves) or
   given; P_l = F F^T + (n lam_l + rho) I by Woodbury, its products with F in float32
   where that is accurate. F does not depend on lam: one factor for the whole grid.
2. K is evaluated once in float64 and kept as its upper triangle in row panels, float32 + int16
   (``_tiles``; or recomputed per product when it does not fit the budget).
3. Iterative refinement (Wilkinson; Carson and Higham 2018 for the mixed-precision form): the
   residual R = b - (K + n lam I) alpha is formed in float64 from the accurate halves; the
   correction solves (K + n lam I) delta = R by PCG with float32 products (``conjugate_gradient``)
   to ``inner_rtol``, or to less when less brings every residual to rtol (``_round_rtol``);
   alpha += delta. Each round gains up to -log10(inner_rtol) digits until the float64 floor, as
   long as cond(K + n lam I) * 6e-8 << 1; otherwise the inner products switch to float64.

A float32 product costs one pass over the stored K per column, so lams are not
carried along for free: a grid's first round solves its lams one after another from the largest
down, each CG started from its neighbour's solution (a warm start along the regularisation
path; below the preconditioner's rho the solution barely moves with lam), and later rounds pass
only the lams whose residual is still above rtol (``conjugate_gradient(by_column=True)``).

Stopping rule: refinement ends when every column has |R_l| <= rtol |b| in float64 against the
stored K~ (|K~ - K| < 2^-39 max_i K_ii entrywise). Then the relative error of alpha_l is at most
kappa_l (rtol + 2^-39 n max_i K_ii / |K|), kappa_l = cond(K + n lam_l I), and the predictions K_val
alpha_l move by no more than |K_val| times that. The dense float64 Cholesky that this is compared
with carries an error of the same form, kappa_l n eps; with rtol = 1e-10 predictions agree to 1e-6
whenever kappa_l <= 1e4 in the worst case and, measured (tests and benchmarks/RESULTS.md),
to ~1e-9 for the NTK kernels of this project, whose smallest eigenvalues are bounded away from 0.
(Two or three rounds: float32 products leave ~1e-5, the second round ~1e-10, a short third the
rest; measured NTK, d = 32, n = 4096.) Hence inner_rtol = 1e-5 by default: rtol = 1e-10 is two
rounds of five digits, and a float32 round asked for six stops near its floor of ~1e-5 anyway
(measured, NTK, d = 32, n = 8192 and 2e4, lam from 1e-6 to 10 of the mean diagonal: 1e-5 took
6-11 fewer CG steps than 1e-6 and never more rounds).
A round that halves no residual still above rtol ends the loop (the float64 floor is reached);
``converged`` is then False and the residuals say how far it got.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import jax
import numpy as np

from featlearn._errors import ConfigError, NumericalError, check_int, check_real
from featlearn._fit_progress import report
from featlearn._memory import PCG_PIVOTS as _PIVOTS
from featlearn._memory import RANK_CAP, pcg_memory, pcg_rank
from featlearn.kernels import Kernel
from featlearn.kernels._blocks import _diag
from featlearn.solvers._cg import conjugate_gradient
from featlearn.solvers._rpcholesky import LowRankPreconditioner, rpcholesky
from featlearn.solvers._tiles import KernelTiles, _tile

__all__ = ["PCGSolution", "RANK_CAP", "pcg_memory", "pcg_rank", "pcg_ridge"]

STALL = 3.0  # adaptive rank: stop once a pivot explains < 3x a typical residual column


@dataclass(frozen=True)
class PCGSolution:
    """alpha (n, L) for each lam (L,) on y - y_mean, with the solver's record."""

    coefs: np.ndarray  # (n, L)
    lambdas: np.ndarray  # (L,)
    y_mean: float
    residuals: np.ndarray  # (L,) final |b - (K + n lam I) alpha| / |b|, float64, stored K
    converged: bool
    iterations: int  # inner CG steps over all refinement rounds (with a grid's warm-start products)
    refinements: int  # float64 residual passes
    rank: int  # preconditioner rank
    stored: bool  # whether K's tiles were kept in memory


SINGLE_FACTOR = 1e-3  # float32 RPCholesky kept while the trace error is >= this of tr K


def _factor(
    kernel: Kernel, X, rank: int | None, key, mus=None
) -> tuple[LowRankPreconditioner, int]:
    """RPCholesky in float32 (half the flops and kernel work: 1.1 against 2.3 s at n = 2e4, rank
    1536, with the same CG steps, measured), redone in float64 when the trace error it reaches
    is below SINGLE_FACTOR of tr K: there float32's error of ~6e-8 |K| in the Schur complements
    would no longer be small against what is left (a nearly low-rank kernel)."""
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    diag = np.asarray(_diag(kernel, X))
    for dtype in (np.float32, np.float64):
        Xd = X.astype(dtype)
        fac = rpcholesky(
            lambda S, Xd=Xd: np.asarray(_tile(kernel, Xd, Xd[S])),  # one program per block
            diag,
            rank=rank if rank is not None else pcg_rank(n),
            key=key,
            block=_PIVOTS,
            stall=None if rank is not None else STALL,
            dtype=dtype,
        )
        if fac.trace_error >= SINGLE_FACTOR * float(np.sum(diag)):
            break
    return LowRankPreconditioner(fac.factor, rho=fac.trace_error / n, mus=mus), fac.rank


def _round_rtol(res: np.ndarray, rtol: float, inner_rtol: float) -> float:
    """A round's CG tolerance: inner_rtol, or looser when less suffices to bring every open
    residual to rtol (with a 10x margin for the float32 products' own error): the last round
    typically needs one digit, not five or six (measured: 35 -> 7 CG steps, NTK, n = 4096)."""
    return max(inner_rtol, min(0.1 * rtol / float(res.max()), 0.1))


def _refine(op: KernelTiles, pre, b, mus, rtol, inner_rtol, max_iter, max_refine):
    """Iterative refinement; returns (alpha (n, L), residuals (L,), CG steps, rounds).

    Inner products run in float32 while a round gains >= 3 digits (or what it asked for, when
    less sufficed: ``_round_rtol``); when one gains fewer (cond(K + n lam I) * 6e-8 is not small:
    the float32 K is too coarse for this system), the inner CG switches to the float64 tiles for
    the remaining rounds.
    """
    B = np.repeat(b[:, None], mus.shape[0], axis=1)
    A, R = np.zeros_like(B), B.copy()
    bnorm = max(float(np.linalg.norm(b)), np.finfo(np.float64).tiny)
    res = np.linalg.norm(R, axis=0) / bnorm
    steps = rounds = 0
    accurate = False
    products = itertools.count(1)

    def operator(P, shifts, acc):
        out = op.matvec(P, accurate=acc) + shifts * P
        report("pcg: conjugate-gradient products", next(products))
        return out

    def batched(R_open, shifts, tol, acc):
        """One CG over the open columns together (each column's products its own pass)."""
        inner = conjugate_gradient(
            lambda P, idx: operator(P, shifts[idx], acc),
            R_open,
            precond=lambda Z, idx: pre(Z, shifts[idx]),
            rtol=tol,
            max_iter=max_iter,
            by_column=True,
        )
        return inner.x, inner.iterations

    def along_path(R_open, shifts, tol, acc):
        """First round of a grid: the columns one after another from the largest shift down,
        each CG started from its neighbour's solution when that is the closer start. Below the
        preconditioner's rho the solutions barely move with lam, so most columns need a few
        steps instead of a full solve each (the warm start along the regularisation path)."""
        X, its, prev = np.zeros_like(R_open), 0, None
        for col in np.argsort(-shifts):
            s, rhs = shifts[col : col + 1], R_open[:, col : col + 1]
            start = np.zeros_like(rhs) if prev is None else prev
            if prev is not None:
                moved = rhs - operator(start, s, acc)
                its += 1
                if np.linalg.norm(moved) < np.linalg.norm(rhs):
                    rhs = moved
                else:
                    start = np.zeros_like(rhs)
            scale = np.linalg.norm(R_open[:, col]) / max(np.linalg.norm(rhs), 1e-300)
            inner = conjugate_gradient(
                lambda P, s=s: operator(P, s, acc),
                rhs,
                precond=lambda Z, s=s: pre(Z, s),
                rtol=min(tol * scale, 1.0),
                max_iter=max_iter,
            )
            X[:, col : col + 1] = prev = start + inner.x
            its += inner.iterations
        return X, its

    while rounds < max_refine and (res > rtol).any():
        # only the columns (lams) still above rtol take part: a float32 product costs one pass
        # per column, and a closed column's own tiny residual would otherwise be chased again
        open_ = np.flatnonzero(res > rtol)
        tol = _round_rtol(res[open_], rtol, inner_rtol)
        shifts = mus[open_]
        solve = along_path if rounds == 0 and open_.size > 1 else batched
        delta, iterations = solve(R[:, open_], shifts, tol, accurate)
        A[:, open_] += delta
        R[:, open_] = B[:, open_] - (op.matvec(A[:, open_], accurate=True) + shifts * A[:, open_])
        steps, rounds = steps + iterations, rounds + 1
        report("pcg: refinement rounds", rounds, max_refine)
        before, res = res, np.linalg.norm(R, axis=0) / bnorm
        if not np.isfinite(res).all():
            raise NumericalError("pcg: the residual holds NaN or inf")
        open_ = before > rtol
        if not (res[open_] <= 0.5 * before[open_]).any():
            if accurate:
                break  # the float64 floor: more rounds cannot help
            accurate = True
        gain = max(1e-3, 10 * tol)  # < 3 digits, or < a tenth of a loose round's: float64 next
        accurate = accurate or bool((res[open_] > gain * before[open_]).any())
    return A, res, steps, rounds


def pcg_ridge(
    kernel: Kernel,
    X,
    y,
    lambdas,
    *,
    key: jax.Array,
    rank: int | None = None,
    store: bool = True,
    rtol: float = 1e-10,
    inner_rtol: float = 1e-5,
    max_iter: int = 300,
    max_refine: int = 6,
) -> PCGSolution:
    """Kernel ridge alpha_l = (K + n lam_l I)^{-1} (y - mean y) for every lam_l, by RPCholesky-
    preconditioned CG with float64 iterative refinement (see the module docstring).

    Parameters
    ----------
    kernel : a ``featlearn.kernels`` kernel; K = kernel(X, X) is evaluated in float64.
    X : (n, d) training inputs. y : (n,) labels.
    lambdas : (L,) ridge penalties, > 0, in the ridge core's convention (n lam I is added to K).
    key : JAX PRNG key of the RPCholesky pivots.
    rank : preconditioner rank (>= 1); None = adaptive, at most ``pcg_rank(n)`` (~11 sqrt(n),
        <= RANK_CAP).
    store : keep K's tiles (``_tiles``; 6 bytes per upper-triangle entry) or recompute them.
    rtol : refinement stops when every |b - (K + n lam I) alpha| <= rtol |b|.
    inner_rtol, max_iter : each round's float32 PCG tolerance and step cap.
    max_refine : cap on refinement rounds.

    Returns
    -------
    PCGSolution with coefs (n, L).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ConfigError(f"X must be (n, d) and y (n,); got {X.shape} and {y.shape}")
    if rank is not None:
        rank = check_int("rank", rank, minimum=1)
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=np.float64))
    if not (lambdas > 0).all():
        raise ConfigError(f"lambdas must all be > 0 for the pcg solver; got {lambdas.min():g}")
    rtol = check_real("rtol", rtol, minimum=0.0, strict=True)
    inner_rtol = check_real("inner_rtol", inner_rtol, minimum=0.0, strict=True)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    max_refine = check_int("max_refine", max_refine, minimum=1)
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise NumericalError("pcg: X or y holds NaN or inf")
    n = X.shape[0]
    report("pcg: preconditioner", 0, 1)
    pre, got_rank = _factor(kernel, X, rank, key, mus=n * lambdas)
    report("pcg: kernel tiles", 0, 1)
    op = KernelTiles(kernel, X, store=store)
    report("pcg: kernel tiles", 1, 1)
    y_mean = float(np.mean(y))
    A, res, steps, rounds = _refine(
        op, pre, y - y_mean, n * lambdas, rtol, inner_rtol, max_iter, max_refine
    )
    converged = bool((res <= rtol).all())
    return PCGSolution(A, lambdas, y_mean, res, converged, steps, rounds, got_rank, op.stored)
