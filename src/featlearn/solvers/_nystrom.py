"""Nyström kernel ridge solved by preconditioned conjugate gradients: the Falkon method
(Rudi, Carratino and Rosasco, "FALKON: An Optimal Large Scale Kernel Method", NeurIPS 2017).

With M centres C, the estimator f(x) = sum_j beta_j k(x, c_j) minimises
(1/n) |y - K_nM beta|^2 + lam beta^T K_MM beta, i.e. solves

    H beta = K_nM^T y / n,      H = K_nM^T K_nM / n + lam K_MM,

the ridge core's convention (``featlearn.solvers._ridge``): with M = n centres at the data it is
exactly alpha = (K + n lam I)^{-1} y. Falkon's preconditioner (their Algorithm 1) uses only K_MM:
T upper with T^T T = K_MM (+ a tiny jitter), A upper with A^T A = T T^T / M + lam I, B = T^{-1} A^{-1};
since K_nM^T K_nM / n ~ K_MM^2 / M for centres sampled uniformly from the data, B^T H B ~ I and
CG on B^T H B gamma = B^T K_nM^T y / n converges in a few tens of iterations; beta = B gamma.

Every CG iteration is one pass over the data in row blocks: K_b = k(X_b, C), accumulate
K_b^T (K_b V). Never the n x n matrix, and the n x M matrix only when it fits the memory budget
(then it is kept and each pass is two GEMMs). All lambdas of a grid share each pass: one column
of V per lambda, each with its own A. Linear algebra on M x M matrices runs in float64.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError, NumericalError, check_int
from featlearn._fit_progress import report
from featlearn._memory import WORKSPACE, nystrom_memory
from featlearn.kernels import DEFAULT_BLOCK_BYTES, Kernel, block_rows, kernel_matrix
from featlearn.solvers._cg import conjugate_gradient
from featlearn.solvers._lapack import sla
from featlearn.targets import Stream

__all__ = ["NystromSolution", "nystrom_memory", "nystrom_ridge", "uniform_centers"]


@dataclass(frozen=True)
class NystromSolution:
    """beta (M, L) for each lam (L,), the label mean removed first, and the CG record."""

    centers: np.ndarray  # (M, d)
    coefs: np.ndarray  # (M, L)
    lambdas: np.ndarray  # (L,)
    y_mean: float
    iterations: int
    residuals: np.ndarray  # (L,) relative CG residual per lambda
    cached: bool  # whether K_nM was kept in memory between passes


def uniform_centers(stream: Stream, M: int, *, key: jax.Array) -> np.ndarray:
    """M rows of the stream chosen uniformly without replacement (one pass); shape (M, d)."""
    M = check_int("centers", M, minimum=1)
    if M > stream.n:
        raise ConfigError(f"centers must be <= n (= {stream.n}); got {M}")
    idx = np.sort(np.asarray(jax.random.choice(key, stream.n, (M,), replace=False)))
    rows, lo = [], 0
    for X, _ in stream:
        hi = lo + X.shape[0]
        take = idx[(idx >= lo) & (idx < hi)] - lo
        if take.size:
            rows.append(np.asarray(X)[take])
        lo = hi
    return np.concatenate(rows)


@jax.jit
def _rhs_block(kernel, X, y, C):
    Kb = kernel(X, C)
    return Kb.T @ y, jnp.sum(Kb, axis=0), Kb


@jax.jit
def _normal_block(kernel, X, C, V):
    Kb = kernel(X, C)
    return Kb.T @ (Kb @ V)


@jax.jit
def _cached_normal(Kb, V):
    return Kb.T @ (Kb @ V)


def _sub_blocks(stream: Stream, rows: int, dtype):
    for X, y in stream:
        for lo in range(0, X.shape[0], rows):
            yield jnp.asarray(X[lo : lo + rows], dtype), jnp.asarray(y[lo : lo + rows], dtype)


def _upper_cholesky(S: np.ndarray, shift: float, jitter: float = 0.0) -> np.ndarray:
    """T upper with T^T T = S + (shift + eps) I. eps = 0, or jitter * mean diag raised x100 until
    it factorises. S's diagonal is shifted in place and restored: no M x M copy besides T."""
    diag = np.diag_indices_from(S)
    scale = max(float(np.mean(S[diag])), np.finfo(np.float64).tiny)
    eps_list = jitter * scale * 100.0 ** np.arange(5) if jitter > 0 else [0.0]
    for eps in eps_list:
        S[diag] += shift + eps
        try:
            return sla().cholesky(S, lower=False, check_finite=False)
        except np.linalg.LinAlgError:
            continue
        finally:
            S[diag] -= shift + eps
    raise NumericalError(
        f"Nyström: a preconditioner matrix is not positive definite (lam = {shift:g})"
    )


class _Preconditioner:
    """B_l = T^{-1} A_l^{-1} for each lam_l, applied column by column. Keeps T and the A_l only."""

    def __init__(self, kernel: Kernel, C: np.ndarray, lambdas: np.ndarray, jitter: float) -> None:
        M = C.shape[0]
        K_MM = kernel_matrix(kernel, C, dtype=jnp.float64)
        self.T = _upper_cholesky(K_MM, 0.0, jitter)
        del K_MM  # from here on only T, T T^T / M and the A_l
        S = self.T @ self.T.T
        S /= M
        self.A = [_upper_cholesky(S, float(lam)) for lam in lambdas]
        self.lambdas = lambdas

    def a_solve(self, G, trans):
        cols = [
            sla().solve_triangular(A, G[:, i], trans=trans, check_finite=False)
            for i, A in enumerate(self.A)
        ]
        return np.stack(cols, axis=1)

    def apply(self, G):  # B gamma = T^{-1} A^{-1} gamma
        return sla().solve_triangular(self.T, self.a_solve(G, 0), check_finite=False)

    def apply_t(self, R):  # B^T r = A^{-T} T^{-T} r
        return self.a_solve(sla().solve_triangular(self.T, R, trans=1, check_finite=False), 1)


def nystrom_ridge(
    kernel: Kernel,
    stream: Stream,
    centers,
    lambdas,
    *,
    max_bytes: int = 2**32,
    rtol: float = 1e-7,
    max_iter: int = 50,
    jitter: float = 1e-12,
    dtype=jnp.float64,
) -> NystromSolution:
    """Falkon: beta(lam) for every lam, from streamed passes over (X, y) blocks of ``stream``.

    Labels are centred first (y - mean y, the mean found in the first pass). ``max_bytes`` bounds
    the M x M matrices, the block workspace and, if it fits, the kept K_nM (n * M values).
    Kernel blocks are computed in ``dtype``; everything M x M in float64.
    """
    C = np.asarray(centers, dtype=np.float64)
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=np.float64))
    M, L, n = C.shape[0], lambdas.size, stream.n
    if M > n:
        raise ConfigError(f"centers must be <= n (= {n}); got {M}")
    itemsize = jnp.dtype(dtype).itemsize
    need = nystrom_memory(M, L, itemsize)
    if max_bytes < need:
        raise ConfigError(
            f"max_bytes must be >= {need} bytes for Nyström with {M} centres and {L} lambdas; "
            f"got {max_bytes}"
        )
    free = max_bytes - need + WORKSPACE * M * itemsize  # for kernel blocks and the kept K_nM
    cache = (n + WORKSPACE) * M * itemsize <= free
    free -= n * M * itemsize if cache else 0
    rows = min(block_rows(M, min(DEFAULT_BLOCK_BYTES, free), itemsize=itemsize), n)
    Cj = jnp.asarray(C, dtype)
    pre = _Preconditioner(kernel, C, lambdas, jitter)

    rhs, ones, s_y, blocks = np.zeros(M), np.zeros(M), 0.0, []
    for X, y in _sub_blocks(stream, rows, dtype):
        r, s, Kb = _rhs_block(kernel, X, y, Cj)
        rhs, ones, s_y = (
            rhs + np.asarray(r, np.float64),
            ones + np.asarray(s, np.float64),
            s_y + float(jnp.sum(y)),
        )
        if cache:
            blocks.append(Kb)
    y_mean = s_y / n
    b = pre.apply_t(np.repeat(((rhs - y_mean * ones) / n)[:, None], L, axis=1))

    def normal(V):  # K_nM^T K_nM V / n, one pass
        Vj, acc = jnp.asarray(V, dtype), np.zeros((M, L))
        parts = (
            (_cached_normal(Kb, Vj) for Kb in blocks)
            if cache
            else (_normal_block(kernel, X, Cj, Vj) for X, _ in _sub_blocks(stream, rows, dtype))
        )
        for part in parts:
            acc += np.asarray(part, np.float64)
        return acc / n

    passes = itertools.count(1)

    def matvec(G):  # B^T H B gamma = A^{-T} (T^{-T} K_nM^T K_nM v / n + lam A^{-1} gamma)
        U = pre.a_solve(G, 0)
        V = sla().solve_triangular(pre.T, U, check_finite=False)
        W = sla().solve_triangular(pre.T, normal(V), trans=1, check_finite=False)
        report("Nyström: conjugate-gradient passes", next(passes), max_iter)
        return pre.a_solve(W + lambdas * U, 1)

    result = conjugate_gradient(matvec, b, rtol=rtol, max_iter=max_iter)
    coefs = pre.apply(result.x)
    if not np.isfinite(coefs).all():
        raise NumericalError("Nyström: the solution holds NaN or inf")
    return NystromSolution(C, coefs, lambdas, y_mean, result.iterations, result.residuals, cache)
