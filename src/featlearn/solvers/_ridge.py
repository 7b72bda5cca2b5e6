"""The one ridge core shared by the layer-wise head, random features and kernel ridge (DESIGN section 5).

Convention: with features Phi (n, m), labels y (n,), the ridge solution is

    a = (Phi^T Phi / n + lam I)^{-1} Phi^T y / n           (primal, m x m)
      = Phi^T alpha,  alpha = (Phi Phi^T + n lam I)^{-1} y  (dual, n x n; K = Phi Phi^T)

so one lam means the same fit in both forms. Solves run in float64; inputs are never mutated.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError, NumericalError, check_real
from featlearn._fit_progress import report
from featlearn.solvers._cg import conjugate_gradient
from featlearn.solvers._lapack import sla

__all__ = [
    "RidgePath",
    "best_on_validation",
    "SingularSystemWarning",
    "accumulate_gram",
    "dual_ridge_path",
    "dual_select_lambda",
    "lambda_grid",
    "ridge_solve",
    "ridge_solve_mixed",
    "select_lambda",
]


class SingularSystemWarning(UserWarning):
    """The regularised system was not positive definite; a least-squares fallback was used."""


def _as_f64(name: str, a) -> np.ndarray:
    arr = np.array(a, dtype=np.float64, copy=True)
    if not np.isfinite(arr).all():
        raise NumericalError(f"ridge: {name} holds NaN or inf")
    return arr


def ridge_solve(A, c, lam: float, *, scale: float = 1.0) -> np.ndarray:
    """Solve (A + scale * lam * I) x = c for symmetric PSD A (m, m) and c (m,) or (m, k).

    Cholesky fast path; if the system is not positive definite (lam = 0 with singular A, or round-off),
    warns with SingularSystemWarning and returns the minimum-norm least-squares solution instead.
    ``scale`` is n for the dual form (K + n lam I) alpha = y.
    """
    lam = check_real("lambda", lam, minimum=0.0)
    A, c = _as_f64("A", A), _as_f64("c", c)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or c.shape[0] != A.shape[0]:
        raise ConfigError(
            f"ridge: A must be square (m, m) and c (m, ...); got {A.shape} and {c.shape}"
        )
    A[np.diag_indices_from(A)] += scale * lam
    try:
        factor = sla().cho_factor(A, lower=True, check_finite=False)
        x = sla().cho_solve(factor, c, check_finite=False)
        if np.isfinite(x).all():
            return x
    except np.linalg.LinAlgError:
        pass
    warnings.warn(
        f"ridge: system with lambda = {lam:g} is not positive definite; "
        "using the minimum-norm least-squares solution",
        SingularSystemWarning,
        stacklevel=2,
    )
    return sla().lstsq(A, c, cond=None, check_finite=False)[0]


def lambda_grid(
    A, *, lambda_min: float = 1e-6, lambda_max: float = 1e1, num: int = 29
) -> np.ndarray:
    """Geometric grid of lam from lambda_min to lambda_max, times the mean eigenvalue tr(A)/m."""
    scale = float(np.trace(np.asarray(A))) / max(np.shape(A)[0], 1)
    return np.geomspace(lambda_min, lambda_max, num) * (scale if scale > 0 else 1.0)


# Up to this size the ridge path's eigendecomposition uses LAPACK's divide and conquer (NumPy's
# eigh, syevd): 0.21 s against 0.26 s for SciPy's default syevr at m = 1000 on 2 cores (measured),
# and no SciPy import. Its workspace is about 2 m^2 floats more, so larger Gram and kernel
# matrices keep syevr.
_DIVIDE_AND_CONQUER = 4096


@dataclass(frozen=True)
class RidgePath:
    """All ridge solutions a(lam) = Q (Lambda + lam)^{-1} Q^T c from one eigendecomposition of A.

    Optionally the spectral filter of T steps of gradient descent from zero instead of the exact
    solve: on loss mean (Phi a - y)^2 + lam |a|^2 with step lr, eigencomponent k after T steps is
    (1 - (1 - 2 lr (Lambda_k + lam))^T) / (Lambda_k + lam) times (Q^T c)_k.
    """

    eigenvalues: np.ndarray  # (m,)
    eigenvectors: np.ndarray  # (m, m)
    projected: np.ndarray  # Q^T c, (m,)

    @classmethod
    def from_gram(cls, A, c) -> RidgePath:
        A, c = _as_f64("A", A), _as_f64("c", c)
        if A.shape[0] <= _DIVIDE_AND_CONQUER:
            evals, evecs = np.linalg.eigh(A)  # LAPACK syevd
        else:
            evals, evecs = sla().eigh(A, check_finite=False)  # syevr: O(m) workspace
        return cls(np.clip(evals, 0.0, None), evecs, evecs.T @ c)

    def filters(
        self, lambdas, *, gd_steps: int | None = None, gd_lr: float | None = None
    ) -> np.ndarray:
        """Spectral filter values, shape (m, L): 1/(Lambda + lam) or its T-step GD form."""
        lambdas = np.atleast_1d(np.asarray(lambdas, dtype=np.float64))
        s = self.eigenvalues[:, None] + lambdas[None, :]
        if gd_steps is None:
            if (s <= 0).any():
                raise NumericalError("ridge path: lambda = 0 with a singular Gram matrix")
            return 1.0 / s
        lr = gd_lr if gd_lr is not None else 1.0 / (2.0 * (self.eigenvalues.max() + lambdas.max()))
        if lr * 2 * s.max() >= 2:
            raise ConfigError(
                f"gd_lr must be < 1 / (Lambda_max + lambda) for gradient descent to converge; got {lr:g}"
            )
        contraction = (1.0 - 2.0 * lr * s) ** gd_steps
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(s > 0, (1.0 - contraction) / s, 2.0 * lr * gd_steps)
        return out

    def coefs(self, lambdas, **gd) -> np.ndarray:
        """a(lam) for each lam: shape (m, L)."""
        return self.eigenvectors @ (self.filters(lambdas, **gd) * self.projected[:, None])


def select_lambda(
    path: RidgePath, Phi_val, y_val, lambdas, **gd
) -> tuple[float, np.ndarray, np.ndarray]:
    """Pick lam on validation data: returns (best lam, its coefficients (m,), validation MSE per lam)."""
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=np.float64))
    # Phi_val a(lam) for every lam at once: (n_val, m) @ (m, L), L GEMV-sized columns instead of
    # rotating Phi_val into the eigenbasis (an n_val x m x m product).
    coefs = path.coefs(lambdas, **gd)  # (m, L)
    best, mse = best_on_validation(
        np.asarray(Phi_val, dtype=np.float64) @ coefs, y_val, step="ridge"
    )
    return float(lambdas[best]), coefs[:, best], mse


def best_on_validation(preds, y_val, *, step: str) -> tuple[int, np.ndarray]:
    """Index of the lam whose validation predictions (n_val, L) have the least mean squared error
    against y_val (n_val,), and the MSE per lam; NaN for every lam is a NumericalError naming
    ``step``."""
    y_val = np.asarray(y_val, dtype=np.float64)[:, None]
    mse = np.mean((np.asarray(preds, dtype=np.float64) - y_val) ** 2, axis=0)
    if not np.isfinite(mse).any():
        raise NumericalError(f"{step}: validation error is NaN for every lambda")
    return int(np.nanargmin(mse)), mse


def dual_ridge_path(K, y) -> RidgePath:
    """The dual path: for kernel K (n, n), alpha(lam) = (K + n lam I)^{-1} y from one eigh.

    Returned as a RidgePath on K/n with c = y/n, so ``coefs(lam)`` gives alpha(lam) directly.
    """
    K = _as_f64("K", K)
    n = K.shape[0]
    return RidgePath.from_gram(K / n, np.asarray(y, dtype=np.float64) / n)


@jax.jit
def _gram_update(A, c, Phi, r):
    return A + Phi.T @ Phi, c + Phi.T @ r.astype(Phi.dtype)


def accumulate_gram(blocks, m: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Reduce (Phi_block, r_block) pairs into (Phi^T Phi / n, Phi^T r / n, n), streaming.

    ``blocks`` yields feature blocks (rows, m) and labels (rows,); memory is O(m^2 + block * m).
    Sums are kept in the blocks' dtype (float32 GEMMs run at twice the float64 rate on CPU) and
    returned as float64 for the solve.
    """
    A = c = None
    n = 0
    for Phi, r in blocks:
        if A is None:
            A, c = jnp.zeros((m, m), Phi.dtype), jnp.zeros((m,), Phi.dtype)
        A, c = _gram_update(A, c, Phi, r)
        n += int(Phi.shape[0])
    if n == 0:
        raise ConfigError("n must be an integer >= 1; got 0")
    A, c = np.asarray(A, dtype=np.float64) / n, np.asarray(c, dtype=np.float64) / n
    if not (np.isfinite(A).all() and np.isfinite(c).all()):
        raise NumericalError("ridge head: the Gram matrix Phi^T Phi holds NaN or inf")
    return A, c, n


def ridge_solve_mixed(
    A, c, lam: float, *, scale: float = 1.0, rtol: float = 1e-12, max_iter: int = 100
) -> np.ndarray:
    """``ridge_solve`` to float64 accuracy from a float32 Cholesky factor (twice the speed).

    Factorises (A + scale lam I) in float32, then runs conjugate gradients in float64 on the exact
    system, preconditioned by that factor: each iteration costs one float64 product with A, and a
    few iterations reach ``rtol`` when cond(A + scale lam I) * 1e-7 < 1. Falls back to
    ``ridge_solve`` (float64 Cholesky, then the warned least-squares solution) when the float32
    factorisation fails or CG stalls. A and c are never mutated.
    """
    lam = check_real("lambda", lam, minimum=0.0)
    A64 = np.asarray(A, dtype=np.float64)
    c64 = np.asarray(c, dtype=np.float64)
    if A64.ndim != 2 or A64.shape[0] != A64.shape[1] or c64.shape[0] != A64.shape[0]:
        return ridge_solve(A, c, lam, scale=scale)  # raises the shape error
    if not (np.isfinite(A64).all() and np.isfinite(c64).all()):
        raise NumericalError("ridge: A or c holds NaN or inf")
    shift = scale * lam
    A32 = A64.astype(np.float32)
    A32[np.diag_indices_from(A32)] += np.float32(shift)
    try:
        factor = sla().cho_factor(A32, lower=False, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        del A32  # free it before ridge_solve's float64 copy
        return ridge_solve(A, c, lam, scale=scale)

    def precond(R):
        return sla().cho_solve(factor, R.astype(np.float32), check_finite=False)

    result = conjugate_gradient(
        lambda P: A64 @ P + shift * P, c64, precond=precond, rtol=rtol, max_iter=max_iter
    )
    if result.converged and np.isfinite(result.x).all():
        return result.x
    return ridge_solve(A, c, lam, scale=scale)


def dual_select_lambda(K, y, K_val, y_val, lambdas) -> tuple[float, np.ndarray, np.ndarray]:
    """Kernel ridge with lam chosen on validation data, one mixed-precision solve per lam.

    For each lam: alpha(lam) = (K + n lam I)^{-1} y (``ridge_solve_mixed``), validation predictions
    K_val @ alpha(lam), with K (n, n), K_val (n_val, n). Returns (best lam, its alpha (n,), MSE per
    lam). Same answer as ``select_lambda(dual_ridge_path(K, y), K_val, y_val, lambdas)``, which
    uses one eigendecomposition instead: cheaper for long grids at small n, but an n x n eigh
    costs tens of Cholesky factorisations.
    """
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=np.float64))
    n = np.shape(K)[0]
    alphas = []
    for i, lam in enumerate(lambdas):
        alphas.append(ridge_solve_mixed(K, y, float(lam), scale=n))
        report("ridge solve: lambda", i + 1, lambdas.size)
    alphas = np.stack(alphas, axis=1)
    best, mse = best_on_validation(np.asarray(K_val) @ alphas, y_val, step="kernel ridge")
    return float(lambdas[best]), alphas[:, best], mse
