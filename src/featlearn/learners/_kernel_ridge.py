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
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._configs import KernelRidgeConfig
from featlearn._errors import ConfigError, NumericalError
from featlearn._fit_progress import report
from featlearn.kernels import (
    DEFAULT_BLOCK_BYTES,
    Kernel,
    kernel_apply,
    kernel_matrix,
    make_kernel,
    oracle,
)
from featlearn.learners._base import DTYPES, Learner, register
from featlearn.learners._steps import lambda_edge, split_validation
from featlearn.solvers import (
    best_on_validation,
    dual_select_lambda,
    nystrom_ridge,
    pcg_ridge,
    uniform_centers,
)
from featlearn.targets import Stream

__all__ = ["KernelRidgeConfig", "KernelRidgeLearner"]


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
            projection = np.asarray(projection, dtype=np.float64)
        self.projection_ = projection
        kernel = self._kernel(stream.d)  # the oracle kernel checks U's orthonormal rows
        train, validation = split_validation(stream, validation, cfg.val_fraction)
        X_val, y_val = (jnp.asarray(v, dtype) for v in validation)
        solver = cfg.solver_for(train.n, X_val.shape[0])  # refuses an impossible budget
        fits = {"exact": self._fit_exact, "pcg": self._fit_pcg, "nystrom": self._fit_nystrom}
        fit = fits[solver]
        centres, coef, y_mean, info = fit(kernel, train, X_val, y_val, dtype, key)
        info["lambda_edge"] = lambda_edge(info["lambda"], info["lambdas"])
        if not np.isfinite(coef).all():
            raise NumericalError("kernel ridge: coefficients hold NaN or inf")
        self.kernel_, self.centers_, self.coef_, self.y_mean_ = kernel, centres, coef, y_mean
        self.solver_, self.info_, self.lambda_ = solver, info, info["lambda"]
        self.d_, self.dtype_ = stream.d, dtype
        return self

    def _kernel(self, d: int) -> Kernel:
        cfg = self.config
        base = make_kernel(cfg.kernel, activation=cfg.activation, q=cfg.q, bandwidth=cfg.bandwidth)
        if not cfg.oracle:
            return base
        U = getattr(self, "projection_", None)
        if U is None:
            raise ConfigError("oracle=True needs the target's U: pass fit_stream(projection=U)")
        if U.shape[1] != d:
            raise ConfigError(f"U must have d = {d} columns (the data's); got shape {U.shape}")
        return oracle(base, U)

    def _fit_exact(self, kernel, train: Stream, X_val, y_val, dtype, key):
        X, y = (jnp.asarray(v, dtype) for v in train.materialize())
        y_mean = float(jnp.mean(y.astype(jnp.float64)))
        report("kernel ridge: kernel matrices", 0, 2)
        K = kernel_matrix(kernel, X, max_bytes=DEFAULT_BLOCK_BYTES, dtype=dtype)
        report("kernel ridge: kernel matrices", 1, 2)
        K_val = kernel_matrix(kernel, X_val, X, max_bytes=DEFAULT_BLOCK_BYTES, dtype=dtype)
        report("kernel ridge: kernel matrices", 2, 2)
        lambdas = self.config.lambdas(float(np.mean(np.diag(K))), train.n)
        r, r_val = (np.asarray(v, np.float64) - y_mean for v in (y, y_val))
        lam, alpha, mse = dual_select_lambda(K, r, K_val, r_val, lambdas)
        info = {"lambda": lam, "lambdas": lambdas, "validation_mse": mse, "centers": train.n}
        return np.asarray(X), alpha, y_mean, info

    def _fit_pcg(self, kernel, train: Stream, X_val, y_val, dtype, key):
        cfg, n, n_val = self.config, train.n, X_val.shape[0]
        store = cfg.pcg_memory(n, n_val, store=True) <= cfg.max_bytes  # keep K too, if it fits
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
        M = cfg.nystrom_centers(train.n)  # <= n and within max_bytes: checked by solver_for
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
