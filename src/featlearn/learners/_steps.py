"""Streaming steps shared by the network learners: preprocessing, the first-layer gradient,
the ridge head on sigma(Wx + b) and prediction. Each is a pure function of arrays and streams.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._configs import HeadOptions, holdout_sizes
from featlearn._errors import ConfigError, NumericalError
from featlearn._jax import jit
from featlearn.networks import Activation
from featlearn.solvers import RidgePath, lambda_grid, select_lambda
from featlearn.targets import (
    ArrayStream,
    DataStream,
    Stream,
    masked_blocks,
    pad_rows,
    padded_rows,
)

__all__ = [
    "HeadOptions",
    "first_layer_gradient",
    "lambda_edge",
    "linear_part",
    "network_predict",
    "ridge_head",
    "split_validation",
]


def _require_finite(step: str, *arrays) -> None:
    for a in arrays:
        if not np.isfinite(np.asarray(a)).all():
            raise NumericalError(f"{step}: result holds NaN or inf")


@jit
def _moments_block(s0, s1, X, y, w):
    """s0 += sum w y, s1 += sum w y x, in float64 (one program per block shape)."""
    wy = (w * y).astype(jnp.float64)
    return s0 + jnp.sum(wy), s1 + wy @ X.astype(jnp.float64)


def linear_part(stream: Stream, *, enabled: bool = True) -> tuple[float, np.ndarray]:
    """Step 1: alpha = mean(y), beta = mean(y x), in one pass (zeros when disabled). On a CPU the
    sums are NumPy's (float64 GEMVs on the drawn blocks, no program to compile); elsewhere they
    stay on the device."""
    if not enabled:
        return 0.0, np.zeros(stream.d)
    if _on_host(stream):
        s0, s1 = 0.0, np.zeros(stream.d)
        for X, y, w in stream.masked():
            wy = np.asarray(w, np.float64) * np.asarray(y, np.float64)
            s0, s1 = s0 + wy.sum(), s1 + wy @ np.asarray(X, np.float64)
    else:
        s0, s1 = _device(np.float64(0.0)), _device(np.zeros(stream.d))
        for X, y, w in stream.masked():
            s0, s1 = _moments_block(s0, s1, X, y, w)
    alpha, beta = float(s0) / stream.n, np.asarray(s1) / stream.n
    _require_finite("preprocessing (alpha, beta)", alpha, beta)
    return alpha, beta


# None: host BLAS where the arrays live on a CPU (see ``_on_host``); tests set True or False to
# run either path on any machine.
HOST_BLAS: bool | None = None


def _on_host(x: Stream | jax.Array) -> bool:
    """Whether a step's products run in NumPy on the host: where JAX's arrays live on the CPU
    (XLA:CPU's dot runs at half the rate of the BLAS NumPy links, and a NumPy sum compiles
    nothing; measured, benchmarks/RESULTS.md), unless ``HOST_BLAS`` says otherwise."""
    if HOST_BLAS is not None:
        return HOST_BLAS
    if isinstance(x, Stream):
        return jax.default_backend() == "cpu"
    return next(iter(x.devices())).platform == "cpu"


def _device(a) -> jax.Array:
    """A host array or scalar on the device. ``jnp.asarray`` of a NumPy array compiles a program
    per shape (JAX's ``stage``); ``device_put`` compiles nothing."""
    return jax.device_put(np.asarray(a))


@partial(jit, static_argnames=("act", "f_is_zero"))
def _grad_block(GT, W, b, a, X, y, w, alpha, beta, act, f_is_zero):
    """GT += (X * res)^T sigma'(X W^T + b) over the block's rows of weight w, res = y - alpha -
    beta.x - f(x): the transposed gradient sum, (d, m). Scaling the (rows, d) factor by the
    residual instead of the (rows, m) one keeps the elementwise work off the larger matrix
    (measured: 0.85 -> 1.0 of a plain matmul's rate at d = 256, m = 1024)."""
    z = X @ W.T + b
    r = y - alpha - X @ beta
    res = w * (r if f_is_zero else r - act.fn(z) @ a)
    return GT + (X * res[:, None]).T @ act.deriv(z)


def first_layer_gradient(
    W, b, a, stream: Stream, alpha: float, beta: np.ndarray, act: Activation, *, f_is_zero: bool
) -> jnp.ndarray:
    """dL/dW for L = mean_i (f(x_i) - y_i)^2 at the given parameters, accumulated over blocks.

    dL/dw_j = -(2/n) sum_i (y_i - f(x_i)) a_j sigma'(w_j.x_i + b_j) x_i, with y already reduced by
    alpha + beta.x. Costs two (rows x m x d) GEMMs per block, one compiled program for all blocks
    (``Stream.masked``). ``f_is_zero`` says the network is identically zero (symmetric init), so
    its output need not be computed; then W, b, a may be any subset of the neurons.
    """
    dtype = np.dtype(W.dtype)
    GT = _device(np.zeros(W.shape[::-1], dtype))
    alpha_j, beta_j = _device(dtype.type(alpha)), _device(np.asarray(beta, dtype))
    for X, y, w in stream.masked():
        GT = _grad_block(GT, W, b, a, X, y, w, alpha_j, beta_j, act, f_is_zero)
    G = (-2.0 / stream.n) * np.asarray(a)[:, None] * np.asarray(GT).T
    _require_finite("first-layer gradient", G)
    return _device(G.astype(dtype))


def lambda_edge(lam: float, lambdas) -> str | None:
    """``"low"`` or ``"high"`` when lam, chosen on validation from the grid ``lambdas``, is the
    grid's smallest or largest value (the best lam may then lie beyond the grid); None inside it,
    and for a grid of one value (nothing was chosen)."""
    grid = np.asarray(lambdas, dtype=np.float64)
    if grid.size < 2:
        return None
    if lam <= grid.min():
        return "low"
    return "high" if lam >= grid.max() else None


def _features_and_residual(W, b, X, y, alpha, beta, act):
    return act.fn(X @ W.T + b), y - alpha - X @ beta


@partial(jit, static_argnames=("act",))
def _head_gram_block(A, c, W, b, X, y, w, alpha, beta, act):
    """A += Phi^T Phi, c += Phi^T r over the block's rows of weight w (w in {0, 1}, so zeroing
    the padded rows of Phi and r removes them from both sums)."""
    Phi, r = _masked_features(W, b, X, y, w, alpha, beta, act)
    return A + Phi.T @ Phi, c + Phi.T @ r


@partial(jit, static_argnames=("act",))
def _masked_features(W, b, X, y, w, alpha, beta, act):
    """The block's features and residuals with its padded rows (w = 0) zeroed."""
    Phi, r = _features_and_residual(W, b, X, y, alpha, beta, act)
    return Phi * w[:, None], r * w


def _head_gram(W, b, act, stream: Stream, alpha_j, beta_j, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(Phi^T Phi, Phi^T r) summed over the stream's blocks, in ``dtype``. On a CPU the features
    come from XLA and the products from NumPy's BLAS: ``Phi.T @ Phi`` is a SYRK there, 2.1x as
    fast as XLA:CPU's dot for a 4096 x 1000 block on 2 cores (0.05 s against 0.10 s, measured);
    elsewhere the whole sum is one device program per block."""
    m = W.shape[0]
    if not _on_host(W):
        A, c = _device(np.zeros((m, m), dtype)), _device(np.zeros(m, dtype))
        for X, y, w in stream.masked():
            A, c = _head_gram_block(A, c, W, b, X, y, w, alpha_j, beta_j, act)
        return np.asarray(A), np.asarray(c)
    A, c = np.zeros((m, m), dtype), np.zeros(m, dtype)
    for X, y, w in stream.masked():
        Phi, r = (np.asarray(v) for v in _masked_features(W, b, X, y, w, alpha_j, beta_j, act))
        A += Phi.T @ Phi
        c += Phi.T @ r
    return A, c


def ridge_head(
    W,
    b,
    act: Activation,
    stream: Stream,
    alpha: float,
    beta: np.ndarray,
    validation,
    opts: HeadOptions,
) -> tuple[np.ndarray, float, str | None]:
    """Step 4: a = (Phi^T Phi/n + lam I)^{-1} Phi^T r/n with r = y - alpha - beta.x.

    lam is chosen on ``validation`` (X_val, y_val) over a geometric grid from one eigendecomposition,
    unless ``opts.fixed_lambda`` is set. Returns (a, lam, edge) with edge = ``lambda_edge(lam,
    grid)``: ``"low"``/``"high"`` when lam is an end of the grid, None inside it or when fixed.
    The Gram sums are kept in W's dtype (float32 GEMMs run at twice the float64 rate on CPU) and
    solved in float64.
    """
    dtype = np.dtype(W.dtype)
    alpha_j, beta_j = _device(dtype.type(alpha)), _device(np.asarray(beta, dtype))
    A, c = _head_gram(W, b, act, stream, alpha_j, beta_j, dtype)
    A, c = A.astype(np.float64) / stream.n, c.astype(np.float64) / stream.n
    if not (np.isfinite(A).all() and np.isfinite(c).all()):
        raise NumericalError("ridge head: the Gram matrix Phi^T Phi holds NaN or inf")
    path = RidgePath.from_gram(A, c)
    gd = {"gd_steps": opts.gd_steps, "gd_lr": opts.gd_lr} if opts.gd_steps else {}
    edge = None
    if opts.fixed_lambda is not None:
        lam = opts.fixed_lambda
        a = path.coefs([lam], **gd)[:, 0]
    else:
        if validation is None:
            raise ConfigError(
                "the ridge head needs a validation set to choose lambda, or fixed_lambda"
            )
        lambdas = lambda_grid(
            A, lambda_min=opts.lambda_min, lambda_max=opts.lambda_max, num=opts.n_lambdas
        )
        X_val, y_val = (np.asarray(v, dtype) for v in validation)
        rows = masked_blocks(X_val, y_val, padded_rows(stream.n, stream.block), dtype)
        Phi_val, r_val = _feature_rows(W, b, act, rows, alpha_j, beta_j)
        lam, a, _ = select_lambda(path, Phi_val, r_val, lambdas, **gd)
        edge = lambda_edge(lam, lambdas)
    _require_finite("ridge head", a)
    return a, float(lam), edge


def _feature_rows(W, b, act, blocks, alpha_j, beta_j) -> tuple[np.ndarray, np.ndarray]:
    """(Phi, r) for every row of the masked ``blocks`` (``masked_blocks``), joined on the host:
    the head's own program (``_masked_features``), so no shape of its own is compiled."""
    Phis, rs = [], []
    for X, y, w in blocks:
        Phi, r = _masked_features(W, b, X, y, w, alpha_j, beta_j, act)
        valid = int(np.asarray(w).sum())
        Phis.append(np.asarray(Phi)[:valid])
        rs.append(np.asarray(r)[:valid])
    return np.concatenate(Phis), np.concatenate(rs)


@partial(jit, static_argnames=("act",))
def _predict_block(W, b, a, alpha, beta, X, act):
    return alpha + X @ beta + act.fn(X @ W.T + b) @ a


def network_predict(W, b, a, alpha, beta, X, act: Activation, block: int = 4096) -> jnp.ndarray:
    """alpha + beta.x + sum_j a_j sigma(w_j.x + b_j), in row blocks of one padded shape
    (``padded_rows``), so any number of rows compiles one program. On a CPU (``_on_host``) the
    features come from the ridge head's program and the sums from NumPy, so a fit followed by
    its risk compiles nothing for prediction."""
    dtype = np.dtype(W.dtype)
    X = np.asarray(X)
    n = X.shape[0]
    rows = padded_rows(n, block)
    if _on_host(W):  # block by block: the features of all rows are never held at once
        a, beta = np.asarray(a, dtype), np.asarray(beta, dtype)
        zero, zeros = _device(dtype.type(0)), _device(np.zeros_like(beta))
        out = np.empty(n, dtype)
        for lo, (Xb, yb, w) in zip(
            range(0, n, rows), masked_blocks(X, np.zeros(n), rows, dtype), strict=True
        ):
            valid = min(rows, n - lo)
            Phi, _ = _masked_features(W, b, Xb, yb, w, zero, zeros, act)
            Xr, Phi = np.asarray(Xb)[:valid], np.asarray(Phi)[:valid]
            out[lo : lo + valid] = dtype.type(alpha) + Xr @ beta + Phi @ a
        return _device(out)
    a, beta = _device(np.asarray(a, dtype)), _device(np.asarray(beta, dtype))
    alpha = _device(np.asarray(alpha, dtype))
    out = [
        np.asarray(
            _predict_block(W, b, a, alpha, beta, _device(pad_rows(X[i : i + rows], rows)), act)
        )
        for i in range(0, n, rows)
    ]
    return _device(np.concatenate(out)[:n])


def split_validation(stream: Stream, validation, fraction: float):
    """Use the given validation pair, or hold out ``fraction`` of the stream (materialised): the
    last rows, as ``holdout_sizes`` counts them (a ConfigError when either part would be empty;
    the range of ``val_fraction`` itself is the config's to check)."""
    if validation is not None:
        return stream, validation
    n_train, _ = holdout_sizes(stream.n, fraction)
    return _first_rows(stream, n_train), stream.materialize(n_train)


def _first_rows(stream: Stream, n: int) -> Stream:
    """The stream's first n rows as a stream: a keyed stream is cut where it stands (its rows do
    not depend on its length), user arrays are sliced."""
    if isinstance(stream, DataStream):
        return dataclasses.replace(stream, n=n)
    X, y = stream.materialize()
    return ArrayStream(np.asarray(X)[:n], np.asarray(y)[:n], block=stream.block)
