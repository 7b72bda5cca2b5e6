"""A kernel matrix K (n, n) held as upper-triangle tiles in 6 bytes per entry, for fast products.

K is evaluated once in float64, tile by tile (b x b, b <= 1024, for J >= I only: K is symmetric),
and each tile is split as

    K_IJ = hi + unit * lo,   hi = float32(K_IJ),   lo = float16((K_IJ - hi) / unit),

with unit = 2^(e - 23) for 2^e >= max_i K_ii >= |K_ij| (K is PSD), so |lo| <= 1. hi alone is K to
float32 precision (relative 6e-8) and serves the inner, float32 CG steps at the speed of a
float32 GEMM; hi + unit * lo is K to about 2^-35 relative (float16 keeps 11 bits of the float32
rounding error) and serves the float64 residuals of the iterative refinement. At n = 32,768 the
tiles take 3.3 GB instead of 8.6 GB for a dense float64 K.

When the tiles do not fit the memory budget, ``store=False`` recomputes each float64 tile at every
product instead (one kernel evaluation pass per product: slow, but memory O(n * L + b^2)).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from featlearn.kernels import WORKSPACE, Kernel

__all__ = ["KernelTiles", "tile_size", "tiles_memory"]

TILE = 1024


def tile_size(n: int, tile: int = TILE) -> tuple[int, int]:
    """(b, count): count = ceil(n / tile) tiles per side of b rows each, b a multiple of 8."""
    count = math.ceil(n / tile)
    b = math.ceil(math.ceil(n / count) / 8) * 8
    return b, count


def tiles_memory(n: int, tile: int = TILE) -> int:
    """Bytes of the stored tiles: count (count + 1) / 2 tiles of b^2 entries, 6 bytes each."""
    b, count = tile_size(n, tile)
    return count * (count + 1) // 2 * b * b * 6


def tile_workspace(n: int, tile: int = TILE) -> int:
    """Bytes live while one float64 tile is evaluated and multiplied."""
    b, _ = tile_size(n, tile)
    return WORKSPACE * b * b * 8


@jax.jit
def _split(kernel: Kernel, Xi, Xj, unit):
    K = kernel(Xi, Xj)
    hi = K.astype(jnp.float32)
    lo = ((K - hi.astype(jnp.float64)) / unit).astype(jnp.float16)
    return hi, lo


@jax.jit
def _split_diagonal(kernel: Kernel, Xi, unit):
    """A diagonal tile, its diagonal from kernel.diag as ``kernel_matrix`` does (exact k(x, x))."""
    K = kernel(Xi, Xi)
    K = K.at[jnp.diag_indices(K.shape[0])].set(kernel.diag(Xi))
    hi = K.astype(jnp.float32)
    lo = ((K - hi.astype(jnp.float64)) / unit).astype(jnp.float16)
    return hi, lo


@jax.jit
def _pair32(hi, vj, vi):
    return hi @ vj, hi.T @ vi


@jax.jit
def _diag32(hi, vi):
    return hi @ vi


def _wide(hi, lo, unit):
    return hi.astype(jnp.float64) + lo.astype(jnp.float64) * unit


@jax.jit
def _pair64(hi, lo, unit, vj, vi):
    t = _wide(hi, lo, unit)
    return t @ vj, t.T @ vi


@jax.jit
def _diag64(hi, lo, unit, vi):
    return _wide(hi, lo, unit) @ vi


@jax.jit
def _pair_fresh(kernel: Kernel, Xi, Xj, vj, vi):
    t = kernel(Xi, Xj)
    return t @ vj, t.T @ vi


@jax.jit
def _diag_fresh(kernel: Kernel, Xi, vi):
    K = kernel(Xi, Xi)
    return K.at[jnp.diag_indices(K.shape[0])].set(kernel.diag(Xi)) @ vi


class KernelTiles:
    """K (n, n) = kernel(X, X) as symmetric tiles; ``matvec(V, accurate)`` gives K V for V (n, L).

    ``accurate=False``: hi @ V in float32 (relative error ~1e-7). ``accurate=True``: (hi + unit lo)
    @ V in float64. With ``store=False`` both recompute float64 tiles (accurate either way).
    """

    def __init__(self, kernel: Kernel, X, *, store: bool = True, tile: int = TILE) -> None:
        X = jnp.asarray(X, dtype=jnp.float64)
        self.n = int(X.shape[0])
        self.b, self.count = tile_size(self.n, tile)
        self.kernel = kernel
        pad = self.b * self.count - self.n  # zero rows: their kernel values meet zero coefficients
        Xp = jnp.pad(X, ((0, pad), (0, 0)))
        self.blocks = Xp.reshape(self.count, self.b, -1)
        top = float(jnp.max(kernel.diag(Xp)))  # bounds every |K_ij|, padding rows included
        self.unit = 2.0 ** (math.ceil(math.log2(max(top, np.finfo(np.float64).tiny))) - 23)
        self.stored = bool(store)
        self.tiles = {}
        if self.stored:
            for i, j in self._pairs():
                Xi, Xj = self.blocks[i], self.blocks[j]
                split = _split_diagonal(kernel, Xi, self.unit) if i == j else None
                self.tiles[i, j] = split or _split(kernel, Xi, Xj, self.unit)

    def _pairs(self):
        return ((i, j) for i in range(self.count) for j in range(i, self.count))

    def _product(self, i: int, j: int, vj, vi, accurate: bool):
        if not self.stored:
            if i == j:
                return (_diag_fresh(self.kernel, self.blocks[i], vi),)
            return _pair_fresh(self.kernel, self.blocks[i], self.blocks[j], vj, vi)
        hi, lo = self.tiles[i, j]
        if accurate:
            if i == j:
                return (_diag64(hi, lo, self.unit, vi),)
            return _pair64(hi, lo, self.unit, vj, vi)
        return (_diag32(hi, vi),) if i == j else _pair32(hi, vj, vi)

    def matvec(self, V: np.ndarray, *, accurate: bool) -> np.ndarray:
        """K V for V (n, L) (or (n,)), returned in float64."""
        V = np.asarray(V)
        squeeze = V.ndim == 1
        V = V[:, None] if squeeze else V
        dtype = np.float64 if accurate or not self.stored else np.float32
        Vp = np.zeros((self.count * self.b, V.shape[1]), dtype=dtype)
        Vp[: self.n] = V
        parts = Vp.reshape(self.count, self.b, -1)
        out = np.zeros(parts.shape, dtype=np.float64)
        for i, j in self._pairs():
            res = self._product(i, j, parts[j], parts[i], accurate)
            out[i] += np.asarray(res[0])
            if i != j:
                out[j] += np.asarray(res[1])
        out = out.reshape(-1, V.shape[1])[: self.n]
        return out[:, 0] if squeeze else out
