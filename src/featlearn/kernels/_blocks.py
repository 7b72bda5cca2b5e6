"""Kernel matrices and kernel-times-coefficients products, evaluated block by block.

A block of r rows against n2 columns costs about ``WORKSPACE * r * n2 * itemsize`` bytes while it is
computed (the Gram block, the covariances and the two dual terms live at once), so ``max_bytes``
fixes r. A budget too small for a single row is a ConfigError naming the budget.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError, check_int
from featlearn._memory import DEFAULT_BLOCK_BYTES, WORKSPACE
from featlearn.kernels._kernels import Kernel

__all__ = ["DEFAULT_BLOCK_BYTES", "WORKSPACE", "block_rows", "kernel_apply", "kernel_matrix"]


def block_rows(n_cols: int, max_bytes: int, *, itemsize: int = 8, name: str = "max_bytes") -> int:
    """Rows per block so that one (rows, n_cols) kernel block fits in ``max_bytes`` of workspace."""
    max_bytes = check_int(name, max_bytes, minimum=1)
    need = WORKSPACE * max(int(n_cols), 1) * itemsize
    if max_bytes < need:
        raise ConfigError(
            f"{name} must be >= {need} bytes to compute one block row of {n_cols} kernel values; "
            f"got {max_bytes}"
        )
    return max_bytes // need


@jax.jit
def _block(kernel: Kernel, X, Z):
    return kernel(X, Z)


@jax.jit
def _diag(kernel: Kernel, X):
    return kernel.diag(X)  # jitted: op by op, each of its ~30 operations compiles per new n


@jax.jit
def _block_and_mirror(kernel: Kernel, X, Z):
    """The block and its transpose: XLA's transpose is cache-blocked, NumPy's strided copy of a
    transposed view ran 3x slower (measured 38 against 12.5 ms per 2048^2 float64 tile)."""
    K = kernel(X, Z)
    return K, K.T


@jax.jit
def _block_apply(kernel: Kernel, X, C, coef):
    return kernel(X, C) @ coef


def _as_array(name: str, A, dtype) -> jnp.ndarray:
    A = jnp.asarray(A, dtype=dtype)
    if A.ndim != 2:
        raise ConfigError(f"{name} must be a 2-D array (n, d); got shape {A.shape}")
    return A


def _pair(X, Z, dtype):
    dtype = dtype or (jnp.asarray(X).dtype if jnp.asarray(X).dtype == jnp.float64 else jnp.float32)
    X = _as_array("X", X, dtype)
    Z = X if Z is None else _as_array("Z", Z, dtype)
    if X.shape[1] != Z.shape[1]:
        raise ConfigError(
            f"X and Z must have the same number of columns; got {X.shape} and {Z.shape}"
        )
    return X, Z


def _row_blocks(X: jnp.ndarray, rows: int):
    """(start, valid rows, block) over X in equal blocks of at most ``rows`` rows, the last one
    zero-padded, so that a jitted kernel compiles once per call rather than twice."""
    n = X.shape[0]
    count = -(-n // rows)
    rows = -(-n // count)
    Xp = np.pad(np.asarray(X), ((0, count * rows - n), (0, 0)))  # NumPy: see _symmetric
    for i in range(count):
        yield i * rows, min(rows, n - i * rows), Xp[i * rows : (i + 1) * rows]


def _symmetric(kernel: Kernel, X: jnp.ndarray, max_bytes: int) -> np.ndarray:
    """kernel(X, X) from its upper square tiles only (K is symmetric: half the evaluations),
    each tile mirrored into the lower triangle; tiles are equal-sized (padded), so one compile."""
    n, itemsize = X.shape[0], X.dtype.itemsize
    side = max(int((max_bytes / (WORKSPACE * itemsize)) ** 0.5), 1)
    block_rows(min(side, n), max_bytes, itemsize=itemsize)  # a budget below one row: ConfigError
    count = -(-n // min(side, 2048, n))
    b = -(-n // count)
    # NumPy slices: slicing a JAX array by Python ints compiles once per distinct offset
    Xp = np.pad(np.asarray(X), ((0, count * b - n), (0, 0)))
    out = np.empty((n, n), dtype=X.dtype)
    for i in range(count):
        lo_i, hi_i = i * b, min((i + 1) * b, n)
        for j in range(i, count):
            lo_j, hi_j = j * b, min((j + 1) * b, n)
            if j == i:
                tile = np.asarray(_block(kernel, Xp[lo_i : lo_i + b], Xp[lo_j : lo_j + b]))
                out[lo_i:hi_i, lo_j:hi_j] = tile[: hi_i - lo_i, : hi_j - lo_j]
                continue
            tile, mirror = _block_and_mirror(kernel, Xp[lo_i : lo_i + b], Xp[lo_j : lo_j + b])
            out[lo_i:hi_i, lo_j:hi_j] = np.asarray(tile)[: hi_i - lo_i, : hi_j - lo_j]
            out[lo_j:hi_j, lo_i:hi_i] = np.asarray(mirror)[: hi_j - lo_j, : hi_i - lo_i]
    # k(x, x) from |x|^2 alone: through x.x from the GEMM, cos t = 1 - O(eps) and the arc-cosine
    # kernels' sqrt(1 - cos) turns that into a 1e-8 relative error on the diagonal
    out[np.diag_indices(n)] = np.asarray(_diag(kernel, X))
    return out


def kernel_matrix(
    kernel: Kernel, X, Z=None, *, max_bytes: int = DEFAULT_BLOCK_BYTES, dtype=None
) -> np.ndarray:
    """K[i, j] = k(X[i], Z[j]) for X (n1, d), Z (n2, d) (Z = X if None); shape (n1, n2).

    Computed in row blocks whose workspace is at most ``max_bytes`` (the result itself, n1 * n2
    values, is not counted). ``dtype`` defaults to X's (float64 stays float64, else float32).
    With Z = None only the upper square tiles are evaluated and mirrored (exactly symmetric), and
    the diagonal is ``kernel.diag(X)``.
    """
    if Z is None:
        X, _ = _pair(X, None, dtype)
        return _symmetric(kernel, X, max_bytes)
    X, Z = _pair(X, Z, dtype)
    rows = block_rows(Z.shape[0], max_bytes, itemsize=X.dtype.itemsize)
    out = np.empty((X.shape[0], Z.shape[0]), dtype=X.dtype)
    for lo, valid, block in _row_blocks(X, rows):
        out[lo : lo + valid] = np.asarray(_block(kernel, block, Z))[:valid]
    return out


def kernel_apply(
    kernel: Kernel, X, C, coef, *, max_bytes: int = DEFAULT_BLOCK_BYTES, dtype=None
) -> np.ndarray:
    """K(X, C) @ coef without storing K: X (n, d), C (M, d), coef (M,) or (M, L) -> (n,) or (n, L)."""
    X, C = _pair(X, C, dtype)
    coef = jnp.asarray(coef, dtype=X.dtype)
    if coef.shape[0] != C.shape[0]:
        raise ConfigError(f"coef must have {C.shape[0]} rows (one per centre); got {coef.shape}")
    rows = block_rows(C.shape[0], max_bytes, itemsize=X.dtype.itemsize)
    parts = [
        np.asarray(_block_apply(kernel, block, C, coef))[:valid]
        for _, valid, block in _row_blocks(X, rows)
    ]
    return np.concatenate(parts)
