"""Recursive Feature Machines: a kernel machine that learns its metric from its own gradients
(Radhakrishnan, Beaglehole, Pandit, Belkin, "Mechanism for feature learning in neural networks and
backpropagation-free machine learning models", Science 2024).

With a PSD metric M (d, d), the base kernel is evaluated on M^{1/2} x, so that it sees the distance
|x - z|_M = sqrt((x - z)^T M (x - z)):

    laplace   k_M(x, z) = exp(-|x - z|_M / L)           (the paper's default, L = 10)
    gaussian  k_M(x, z) = exp(-|x - z|_M^2 / (2 L^2))     (featlearn's ``rbf`` with bandwidth L/sqrt d)
    ntk       the network's NTK (``featlearn.kernels.NTK``) of M^{1/2} x and M^{1/2} z

Starting from M = I, each of T iterations (1) fits kernel ridge f(x) = mean(y) + sum_i c_i k_M(x, x_i),
c = (K_M + n lam I)^{-1} (y - mean y), lam chosen on validation data (``dual_select_lambda``), and
(2) sets M to the average gradient outer product of f on the training points,
AGOP = (1/n) sum_i grad f(x_i) grad f(x_i)^T, optionally rescaled to trace d. A last kernel ridge
solve with the final M gives the predictor. grad f = M^{1/2} grad_{x~} f~(x~) at x~ = M^{1/2} x, with
grad_{x~} from ``jax.grad`` of a kernel block; the term of x_i itself in grad f(x_i) is left out
(Laplace and arc-cosine kernels have no derivative at zero distance; the paper's code sets it to 0).
Memory: the exact solve holds K (n, n) and K_val (n_val, n) (``exact_memory``); kernel blocks and the
AGOP are computed in row blocks under ``max_bytes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._configs import RFMConfig
from featlearn._errors import NumericalError
from featlearn.kernels import (
    DEFAULT_BLOCK_BYTES,
    NTK,
    RBF,
    Kernel,
    block_rows,
    kernel_apply,
    kernel_matrix,
)
from featlearn.learners._base import DTYPES, Learner, register
from featlearn.learners._steps import lambda_edge, split_validation
from featlearn.networks import get_activation
from featlearn.solvers import dual_select_lambda
from featlearn.targets import Stream

__all__ = ["Laplace", "RFMConfig", "RFMLearner", "agop"]


@partial(jax.tree_util.register_dataclass, data_fields=[], meta_fields=["bandwidth"])
@dataclass(frozen=True)
class Laplace(Kernel):
    """k(x, z) = exp(-|x - z| / L), L = bandwidth > 0; the gradient at x = z is taken as 0."""

    bandwidth: float = 10.0
    name = "laplace"

    def _from_gram(self, g, n1, n2, d):
        dist2 = n1 + n2 - 2.0 * g
        # sqrt has no derivative at 0: where the distance vanishes (a point against itself) the
        # value is 1 and the gradient 0, the "double where" keeps NaN out of jax.grad
        pos = dist2 > 0
        dist = jnp.where(pos, jnp.sqrt(jnp.where(pos, dist2, 1.0)), 0.0)
        return jnp.exp(-dist / self.bandwidth)


@partial(jax.jit, static_argnames=("rows", "exclude_self"))
def _agop_block(kernel: Kernel, X, C, coef, start, n, rows, exclude_self):
    """sum over rows start..start+rows (< n) of grad f(x) grad f(x)^T, f(x) = k(x, C) @ coef."""
    Xb = jax.lax.dynamic_slice_in_dim(X, start, rows)
    index = start + jnp.arange(rows)
    self_pair = (index[:, None] == jnp.arange(C.shape[0])[None, :]) & exclude_self
    n2 = jnp.sum(C * C, axis=1)[None, :]

    def f_sum(Z):  # rows are independent, so the gradient of the sum is each row's gradient
        # a point against itself is evaluated at x.z = 0 and masked out: the kernel may have no
        # derivative there (Laplace, arc-cosine), and a masked NaN would still poison the sum
        g = jnp.where(self_pair, 0.0, Z @ C.T)
        K = kernel._from_gram(g, jnp.sum(Z * Z, axis=1)[:, None], n2, Z.shape[1])
        return jnp.sum(jnp.where(self_pair, 0.0, K) @ coef)

    grads = jax.grad(f_sum)(Xb) * (index < n)[:, None]
    return grads.T @ grads


def agop(
    kernel: Kernel, X, C, coef, *, exclude_self: bool = False, max_bytes: int = DEFAULT_BLOCK_BYTES
) -> np.ndarray:
    """Average gradient outer product (1/n) sum_i grad f(x_i) grad f(x_i)^T, shape (d, d), of
    f(x) = sum_j coef_j k(x, C_j), for X (n, d), C (M, d), coef (M,), in row blocks.

    ``exclude_self`` (C is X, in order): leave out the term j = i of grad f(x_i), where k may not be
    differentiable (RFM's convention). Each block holds a few (rows, M) arrays and their
    reverse-mode tangents: sized like a kernel block with twice the workspace.
    """
    X, C = jnp.asarray(X), jnp.asarray(C, X.dtype)
    n = X.shape[0]
    rows = min(n, block_rows(C.shape[0], max_bytes // 2, itemsize=X.dtype.itemsize))
    Xp = jnp.pad(X, ((0, -n % rows), (0, 0)))
    coef = jnp.asarray(coef, X.dtype)
    total = sum(
        np.asarray(_agop_block(kernel, Xp, C, coef, start, n, rows, exclude_self), np.float64)
        for start in range(0, n, rows)
    )
    return total / n


def _sqrt_psd(M: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh((M + M.T) / 2)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


@register("rfm")
class RFMLearner(Learner):
    """Recursive Feature Machine (Radhakrishnan et al., Science 2024); see the module docstring.

    Fitted state: ``M_`` (d, d), ``sqrt_M_``, ``centers_`` (the training inputs), ``coef_``,
    ``y_mean_``, ``lambda_`` and ``history_`` (lam and validation MSE of every solve).
    """

    Config = RFMConfig

    def fit_stream(self, stream: Stream, *, key: jax.Array, validation=None) -> RFMLearner:
        cfg, dtype = self.config, DTYPES[self.config.dtype]
        train, validation = split_validation(stream, validation, cfg.val_fraction)
        X, y = (jnp.asarray(v, dtype) for v in train.materialize())
        X_val, y_val = (jnp.asarray(v, dtype) for v in validation)
        cfg.check_problem(train.n, X_val.shape[0])  # the exact solve's memory budget
        kernel, d = self._kernel(stream.d), stream.d
        y_mean = float(jnp.mean(y.astype(jnp.float64)))
        r, r_val = (np.asarray(v, np.float64) - y_mean for v in (y, y_val))
        M, history = np.eye(d), []
        for t in range(cfg.iterations + 1):
            S = _sqrt_psd(M)
            Xs, Xs_val = (v @ jnp.asarray(S, dtype) for v in (X, X_val))
            coef, info = self._ridge(kernel, Xs, r, Xs_val, r_val, dtype)
            history.append(info)
            if t < cfg.iterations:
                M = self._update_metric(kernel, Xs, coef, S)
        self.kernel_, self.M_, self.sqrt_M_, self.centers_ = kernel, M, S, np.asarray(Xs)
        self.coef_, self.y_mean_, self.history_ = coef, y_mean, history
        self.lambda_, self.d_, self.dtype_ = history[-1]["lambda"], d, dtype
        return self

    def _kernel(self, d: int) -> Kernel:
        """The kernel applied to M^{1/2} x (d: the data's dimension, for the Gaussian's units)."""
        cfg = self.config
        if cfg.kernel == "laplace":
            return Laplace(cfg.bandwidth)
        if cfg.kernel == "gaussian":
            return RBF(cfg.bandwidth / math.sqrt(d))
        return NTK(get_activation(cfg.activation))

    def _ridge(self, kernel, Xs, r, Xs_val, r_val, dtype):
        """Kernel ridge on the transformed inputs, lam chosen on validation (the shared solver)."""
        K = kernel_matrix(kernel, Xs, max_bytes=DEFAULT_BLOCK_BYTES, dtype=dtype)
        K_val = kernel_matrix(kernel, Xs_val, Xs, max_bytes=DEFAULT_BLOCK_BYTES, dtype=dtype)
        lambdas = self.config.lambdas(float(np.mean(np.diag(K))), Xs.shape[0])
        lam, coef, mse = dual_select_lambda(K, r, K_val, r_val, lambdas)
        if not np.isfinite(coef).all():
            raise NumericalError("rfm: kernel ridge coefficients hold NaN or inf")
        edge = lambda_edge(lam, lambdas)
        return coef, {"lambda": lam, "lambda_edge": edge, "validation_mse": float(np.min(mse))}

    def _update_metric(self, kernel, Xs, coef, S) -> np.ndarray:
        """M = S AGOP~ S (the chain rule through x~ = S x), then the optional rescaling."""
        G = agop(kernel, Xs, Xs, coef, exclude_self=True)
        M = S @ G @ S
        if not np.isfinite(M).all():
            raise NumericalError("rfm: the average gradient outer product holds NaN or inf")
        trace = float(np.trace(M))
        if trace <= 0:
            raise NumericalError("rfm: the average gradient outer product is zero (f is constant)")
        return M * (M.shape[0] / trace) if self.config.rescale == "trace" else M

    def _predict(self, X):
        Xs = X @ jnp.asarray(self.sqrt_M_, X.dtype)
        out = kernel_apply(self.kernel_, Xs, self.centers_, self.coef_, dtype=self.dtype_)
        return jnp.asarray(out + self.y_mean_, dtype=self.dtype_)

    def top_directions(self, r: int) -> np.ndarray:
        """The top-r eigenvectors of M as rows, shape (r, d)."""
        self._check_fitted()
        w, V = np.linalg.eigh(self.M_)
        return V[:, np.argsort(w)[::-1][:r]].T

    def diagnostics(self) -> dict[str, Any]:
        """``M`` and ``W`` = M^{1/2} (its rows span M's range, so the network's alignment metrics
        apply: alignment(W, U) = tr(U M U^T) / tr(M), principal angles of M's top eigenvectors)."""
        self._check_fitted()
        return {
            "M": self.M_,
            "W": self.sqrt_M_,
            "lambda": self.lambda_,
            "lambda_edge": self.history_[-1].get("lambda_edge"),  # of the last solve, the model's
            "history": [dict(h) for h in self.history_],
            "kernel": self.config.kernel,
            "iterations": self.config.iterations,
        }
