"""Kernel ridge regression with the network's own kernels (DESIGN section 4): the kernel regime.

Model: f(x) = mean(y) + sum_i coef_i k(x, c_i), fitted as plain kernel ridge on y - mean(y) with the
ridge core's convention (alpha = (K + n lam I)^{-1} (y - mean y)); no other preprocessing (unlike the
layer-wise network, which also removes beta.x: a kernel with a degree-1 component fits that part
itself). lam is chosen on the validation set, or on a held-out fraction of n, over a geometric grid
times the kernel's mean diagonal.

Solvers: ``exact`` (centres = all n training points, one mixed-precision Cholesky per lam),
``pcg`` (the same estimator by RPCholesky-preconditioned CG with float64 iterative refinement,
``featlearn.solvers.pcg_ridge``: O(n^2) per pass instead of O(n^3) per lam, K kept in 6 bytes per
upper-triangle entry), or ``nystrom`` (Falkon on M uniformly sampled centres, all lams in shared
passes over the data). ``auto`` takes exact below n = PCG_MIN_N (where its Cholesky is cheaper,
measured in benchmarks/RESULTS.md) and pcg from there, whichever of the two fits ``max_bytes``,
else Nyström.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError, NumericalError, check_int, check_real
from featlearn.kernels import (
    DEFAULT_BLOCK_BYTES,
    Kernel,
    kernel_apply,
    kernel_matrix,
    make_kernel,
    oracle,
)
from featlearn.learners._base import DTYPES, Learner, check_common, register
from featlearn.learners._steps import split_validation
from featlearn.solvers import (
    RANK_CAP,
    best_on_validation,
    dual_select_lambda,
    nystrom_memory,
    nystrom_ridge,
    pcg_memory,
    pcg_ridge,
    uniform_centers,
)
from featlearn.targets import Stream

__all__ = ["KernelRidgeConfig", "KernelRidgeLearner", "exact_memory"]

_SOLVERS = ("auto", "exact", "pcg", "nystrom")
PCG_MIN_N = 3000  # auto: pcg from this n on (measured crossover, benchmarks/RESULTS.md)


@dataclass(frozen=True)
class KernelRidgeConfig:
    """Options of kernel ridge.

    kernel : ``ntk``, ``nngp`` (of the network with ``activation`` at its initialisation), ``poly``
        ((1 + x.x'/d)^q) or ``rbf`` (exp(-|x - x'|^2 / (2 bandwidth^2 d)))
    activation, q, bandwidth : parameters of those kernels
    oracle : apply the kernel to Ux (needs ``fit_stream(..., projection=U)``; ``run_fit`` gives it)
    solver : ``auto``, ``exact``, ``pcg`` or ``nystrom``
    centers : Nyström centres M (<= n); None = min(n, 2048)
    rank : pcg's RPCholesky preconditioner rank (>= 1); None = adaptive, at most min(n, 2048)
    max_bytes : memory budget in bytes for the solver's matrices and kernel blocks
    lambda_min, lambda_max, n_lambdas : lam grid, times mean_i k(x_i, x_i) / n (n lam I is compared
        with K's diagonal); the low end matters for noiseless targets, where near-interpolation wins
    val_fraction : held-out fraction of n used to choose lam when no validation set is given
    cg_tol, cg_max_iter : Nyström's conjugate-gradient stopping rule
    dtype : ``float64`` (default) or ``float32`` for kernel evaluations; solves run in float64
    """

    kernel: Literal["ntk", "nngp", "poly", "rbf"] = "ntk"
    activation: str = "relu"
    q: int = 2
    bandwidth: float = 1.0
    oracle: bool = False
    solver: Literal["auto", "exact", "pcg", "nystrom"] = "auto"
    centers: int | None = None
    rank: int | None = None
    max_bytes: int = 4 * 2**30
    lambda_min: float = 1e-8
    lambda_max: float = 10.0
    n_lambdas: int = 10
    val_fraction: float = 0.2
    cg_tol: float = 1e-7
    cg_max_iter: int = 50
    dtype: Literal["float32", "float64"] = "float64"

    def __post_init__(self) -> None:
        self.base_kernel()  # validates kernel, activation, q, bandwidth
        if not isinstance(self.oracle, bool):
            raise ConfigError(f"oracle must be true or false; got {self.oracle!r}")
        if self.solver not in _SOLVERS:
            raise ConfigError(f"solver must be one of {list(_SOLVERS)}; got {self.solver!r}")
        if self.centers is not None:
            check_int("centers", self.centers, minimum=1)
        if self.rank is not None:
            check_int("rank", self.rank, minimum=1)
        check_int("max_bytes", self.max_bytes, minimum=1)
        check_common(self)
        check_real("cg_tol", self.cg_tol, minimum=0.0, strict=True)
        check_int("cg_max_iter", self.cg_max_iter, minimum=1)

    def base_kernel(self) -> Kernel:
        return make_kernel(
            self.kernel, activation=self.activation, q=self.q, bandwidth=self.bandwidth
        )

    def lambdas(self, mean_diag: float, n: int) -> np.ndarray:
        """The lam grid in the ridge core's convention: nlam I is compared with K's diagonal."""
        grid = np.geomspace(self.lambda_min, self.lambda_max, self.n_lambdas)
        return grid * (mean_diag if mean_diag > 0 else 1.0) / n


def exact_memory(n: int, n_val: int) -> int:
    """Bytes the exact solve holds: K (float64), its float32 factor, K_val, one kernel block."""
    return 12 * n * n + 8 * n_val * n + DEFAULT_BLOCK_BYTES


@register("kernel-ridge")
class KernelRidgeLearner(Learner):
    """Kernel ridge with the NTK/NNGP of the network, a polynomial or an RBF kernel, exact or
    Nyström (Falkon), lam chosen on validation data. See the module docstring for the model."""

    Config = KernelRidgeConfig
    uses_projection = True

    def fit_stream(
        self, stream: Stream, *, key: jax.Array, validation=None, projection=None
    ) -> KernelRidgeLearner:
        """Fit on ``stream``; ``projection``: the target's U (r, d) with orthonormal rows, used
        (and required) by the oracle kernel only, which is applied to Ux."""
        cfg, dtype = self.config, DTYPES[self.config.dtype]
        if projection is not None:
            oracle(cfg.base_kernel(), projection)  # validates U
            projection = np.asarray(projection, dtype=np.float64)
        self.projection_ = projection
        kernel = self._kernel(stream.d)
        train, validation = split_validation(stream, validation, cfg.val_fraction)
        X_val, y_val = (jnp.asarray(v, dtype) for v in validation)
        solver = self._choose_solver(train.n, X_val.shape[0])
        fits = {"exact": self._fit_exact, "pcg": self._fit_pcg, "nystrom": self._fit_nystrom}
        fit = fits[solver]
        centres, coef, y_mean, info = fit(kernel, train, X_val, y_val, dtype, key)
        if not np.isfinite(coef).all():
            raise NumericalError("kernel ridge: coefficients hold NaN or inf")
        self.kernel_, self.centers_, self.coef_, self.y_mean_ = kernel, centres, coef, y_mean
        self.solver_, self.info_, self.lambda_ = solver, info, info["lambda"]
        self.d_, self.dtype_ = stream.d, dtype
        return self

    def _kernel(self, d: int) -> Kernel:
        base = self.config.base_kernel()
        if not self.config.oracle:
            return base
        U = getattr(self, "projection_", None)
        if U is None:
            raise ConfigError("oracle=True needs the target's U: pass fit_stream(projection=U)")
        if U.shape[1] != d:
            raise ConfigError(f"U must have d = {d} columns (the data's); got shape {U.shape}")
        return oracle(base, U)

    def check_problem(self, n: int, n_val: int) -> None:
        """The solver's memory budget and Nyström's centres (<= n) for n samples."""
        solver = self._choose_solver(n, n_val)
        centers = self.config.centers
        if solver == "nystrom" and centers is not None and centers > n:
            raise ConfigError(f"centers must be <= n (= {n}); got {centers}")

    def _choose_solver(self, n: int, n_val: int) -> str:
        cfg = self.config
        fits = exact_memory(n, n_val) <= cfg.max_bytes
        if cfg.solver == "exact" and not fits:
            raise ConfigError(
                f"max_bytes must be >= {exact_memory(n, n_val)} bytes for the exact solve at "
                f"n = {n}; got {cfg.max_bytes} (solver='pcg' or 'nystrom' need far less)"
            )
        if cfg.solver != "auto":
            return cfg.solver
        pcg_fits = self._pcg_memory(n, n_val, store=False) <= cfg.max_bytes
        if pcg_fits and (n >= PCG_MIN_N or not fits):
            return "pcg"
        return "exact" if fits else "nystrom"

    def _pcg_memory(self, n: int, n_val: int, *, store: bool) -> int:
        """pcg_ridge's peak plus the validation predictions (n_val, L)."""
        rank = self.config.rank if self.config.rank is not None else min(n, RANK_CAP)
        L = self.config.n_lambdas
        return pcg_memory(n, rank, L, store=store) + 8 * n_val * L

    def _fit_exact(self, kernel, train: Stream, X_val, y_val, dtype, key):
        X, y = (jnp.asarray(v, dtype) for v in train.materialize())
        y_mean = float(jnp.mean(y.astype(jnp.float64)))
        K = kernel_matrix(kernel, X, max_bytes=DEFAULT_BLOCK_BYTES, dtype=dtype)
        K_val = kernel_matrix(kernel, X_val, X, max_bytes=DEFAULT_BLOCK_BYTES, dtype=dtype)
        lambdas = self.config.lambdas(float(np.mean(np.diag(K))), train.n)
        r, r_val = (np.asarray(v, np.float64) - y_mean for v in (y, y_val))
        lam, alpha, mse = dual_select_lambda(K, r, K_val, r_val, lambdas)
        info = {"lambda": lam, "lambdas": lambdas, "validation_mse": mse, "centers": train.n}
        return np.asarray(X), alpha, y_mean, info

    def _fit_pcg(self, kernel, train: Stream, X_val, y_val, dtype, key):
        cfg, n, n_val = self.config, train.n, X_val.shape[0]
        store = self._pcg_memory(n, n_val, store=True) <= cfg.max_bytes
        need = self._pcg_memory(n, n_val, store=False)
        if need > cfg.max_bytes:
            raise ConfigError(
                f"max_bytes must be >= {need} bytes for the pcg solve at n = {n}; "
                f"got {cfg.max_bytes} (solver='nystrom' needs less)"
            )
        X, y = (np.asarray(v, np.float64) for v in train.materialize())
        lambdas = cfg.lambdas(float(np.mean(np.asarray(kernel.diag(jnp.asarray(X))))), n)
        sol = pcg_ridge(kernel, X, y, lambdas, key=key, rank=cfg.rank, store=store)
        pred = kernel_apply(kernel, X_val, X, sol.coefs, dtype=jnp.float64) + sol.y_mean
        best, mse = best_on_validation(pred, y_val, step="kernel ridge")
        if not sol.converged:
            warnings.warn(
                f"kernel ridge (pcg): relative residuals {np.array2string(sol.residuals)} did "
                "not all reach 1e-10; the float64 floor of this system was met first",
                RuntimeWarning,
                stacklevel=3,
            )
        info = {
            "lambda": float(lambdas[best]),
            "lambdas": lambdas,
            "validation_mse": mse,
            "centers": n,
            "rank": sol.rank,
            "cg_iterations": sol.iterations,
            "refinements": sol.refinements,
            "residuals": sol.residuals,
            "kernel_cached": sol.stored,
        }
        return X, sol.coefs[:, best], sol.y_mean, info

    def _fit_nystrom(self, kernel, train: Stream, X_val, y_val, dtype, key):
        cfg = self.config
        M = cfg.centers if cfg.centers is not None else min(train.n, 2048)
        if M > train.n:
            raise ConfigError(f"centers must be <= n (= {train.n}); got {M}")
        need = nystrom_memory(M, cfg.n_lambdas, jnp.dtype(dtype).itemsize)
        if cfg.max_bytes < need:
            raise ConfigError(
                f"max_bytes must be >= {need} bytes for Nyström with centers = {M}; "
                f"got {cfg.max_bytes}"
            )
        C = uniform_centers(train, M, key=key)
        mean_diag = float(np.mean(np.asarray(kernel.diag(jnp.asarray(C, jnp.float64)))))
        lambdas = cfg.lambdas(mean_diag, train.n)
        sol = nystrom_ridge(
            kernel,
            train,
            C,
            lambdas,
            max_bytes=cfg.max_bytes,
            rtol=cfg.cg_tol,
            max_iter=cfg.cg_max_iter,
            dtype=dtype,
        )
        pred = kernel_apply(kernel, X_val, C, sol.coefs, dtype=dtype) + sol.y_mean
        best, mse = best_on_validation(pred, y_val, step="kernel ridge")
        info = {
            "lambda": float(lambdas[best]),
            "lambdas": lambdas,
            "validation_mse": mse,
            "centers": M,
            "cg_iterations": sol.iterations,
            "cg_residual": float(sol.residuals[best]),
            "kernel_cached": sol.cached,
        }
        return C, sol.coefs[:, best], sol.y_mean, info

    def _predict(self, X):
        out = kernel_apply(self.kernel_, X, self.centers_, self.coef_, dtype=self.dtype_)
        return jnp.asarray(out + self.y_mean_, dtype=self.dtype_)

    def diagnostics(self) -> dict[str, Any]:
        self._check_fitted()
        cfg = self.config
        return {"solver": self.solver_, "kernel": cfg.kernel, "oracle": cfg.oracle, **self.info_}
