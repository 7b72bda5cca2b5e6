"""A kernel matrix K (n, n) held as its packed upper triangle in 6 bytes per entry, for fast products.

K is evaluated once in float64, in b x b tiles (b <= 1024, for J >= I only: K is symmetric), and
each row's upper part K[r, r:] is stored, row after row (BLAS's packed lower-triangular layout of
a symmetric matrix), split as

    K = hi + unit * lo,   hi = float32(K),   lo = int16(rint((K - hi) / unit)),

with unit = 2^(e - 39) for 2^e > max_i K_ii >= |K_ij| (K is PSD): |K - hi| <= 2^(e - 25), so
|lo| <= 2^14 fits int16, and |hi + unit lo - K| <= unit / 2 < 2^-39 max K_ii entrywise. hi alone is K
to float32 precision (relative 6e-8) and serves the inner, float32 CG steps: one BLAS SSPMV per
column reads each stored entry once (measured n = 8192: as fast as a dense SGEMV over the full
square, 3x faster than two NumPy products per row panel). hi + unit lo, widened to float64 a few
rows at a time, serves the float64 residuals of the iterative refinement. The split is done in
NumPy: XLA's version of it cost 4-5x the kernel evaluation itself (measured 60 against 13 ns per
entry, b = 1024). At n = 32,768 the packed halves take 3.2 GB instead of 8.6 GB for a dense
float64 K.

When they do not fit the memory budget, ``store=False`` recomputes each float64 tile at every
product instead (one kernel evaluation pass per product: slow, but memory O(n * L + b^2)).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._memory import TILE, tile_size, tile_workspace, tiles_memory
from featlearn.kernels import Kernel
from featlearn.kernels._blocks import _diag
from featlearn.solvers._lapack import sla

__all__ = ["KernelTiles", "tile_size", "tile_workspace", "tiles_memory"]

LO_BITS = 39  # unit = 2^(e - LO_BITS): |K - hi| <= 2^(e - 25) = 2^14 units, inside int16
_WIDE_ROWS = 256  # packed rows unpacked at once for a product by GEMMs: (256, n) DGEMMs ran at 4x
# the rate of (64, n) ones (measured n = 8192, L = 10), at 8 * 256 * n bytes of workspace
_SSPMV_COLUMNS = 3  # float32 products of up to 3 columns by SSPMVs, of more by unpacked SGEMMs:
# measured n = 2e4, seconds per product, SSPMVs / unpacked: L = 1 0.09 / 0.21, 2 0.19 / 0.42,
# 4 0.40 / 0.41, 10 0.91 / 0.32


@jax.jit
def _tile(kernel: Kernel, Xi, Xj):
    return kernel(Xi, Xj)


@jax.jit
def _diagonal_tile(kernel: Kernel, Xi):
    """A diagonal tile, its diagonal from kernel.diag as ``kernel_matrix`` does (exact k(x, x))."""
    K = kernel(Xi, Xi)
    return K.at[jnp.diag_indices(K.shape[0])].set(kernel.diag(Xi))


@jax.jit
def _pair_fresh(kernel: Kernel, Xi, Xj, vj, vi):
    t = kernel(Xi, Xj)
    return t @ vj, t.T @ vi


@jax.jit
def _diag_fresh(kernel: Kernel, Xi, vi):
    return _diagonal_tile(kernel, Xi) @ vi


def _split(K: np.ndarray, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """hi = float32(K), lo = int16(rint((K - hi) / unit))."""
    hi = K.astype(np.float32)
    rest = K - hi
    rest *= 1.0 / unit
    return hi, np.rint(rest, out=rest).astype(np.int16)


class KernelTiles:
    """K (n, n) = kernel(X, X), its upper triangle packed; ``matvec(V, accurate)`` gives K V.

    ``accurate=False``: hi @ V in float32 (relative error ~1e-6; one SSPMV per column for up to
    ``_SSPMV_COLUMNS`` columns, else unpacked row panels and SGEMMs). ``accurate=True``: (hi + unit lo)
    @ V in float64 (|K~ - K| < 2^-39 max K_ii entrywise). With ``store=False`` both recompute
    float64 tiles (accurate either way).
    """

    def __init__(self, kernel: Kernel, X, *, store: bool = True, tile: int = TILE) -> None:
        X = jnp.asarray(X, dtype=jnp.float64)
        self.n = n = int(X.shape[0])
        self.b, self.count = tile_size(n, tile)
        self.kernel = kernel
        pad = self.b * self.count - n  # zero rows: their kernel values meet zero coefficients
        Xp = np.pad(np.asarray(X), ((0, pad), (0, 0)))
        # NumPy blocks: indexing a JAX array by a Python int compiles once per distinct index
        self.blocks = Xp.reshape(self.count, self.b, -1)
        top = float(np.max(_diag(kernel, Xp)))  # bounds every |K_ij|, padding rows included
        e = math.floor(math.log2(max(top, np.finfo(np.float64).tiny))) + 1  # 2^e > top
        self.unit = 2.0 ** (e - LO_BITS)
        self.stored = bool(store)
        r = np.arange(n + 1, dtype=np.int64)
        self.offsets = r * n - r * (r - 1) // 2  # row r's K[r, r:] starts here; offsets[n] = size
        if self.stored:
            self.hi = np.empty(self.offsets[n], dtype=np.float32)
            self.lo = np.empty(self.offsets[n], dtype=np.int16)
            for i in range(self.count):
                self._panel(i)

    def _rows(self, i: int) -> slice:
        return slice(i * self.b, min((i + 1) * self.b, self.n))

    def _panel(self, i: int) -> None:
        """Evaluate block row i (columns i * b to n) tile by tile and pack its rows' upper parts."""
        rows = self._rows(i)
        hi = np.empty((rows.stop - rows.start, self.n - rows.start), dtype=np.float32)
        lo = np.empty(hi.shape, dtype=np.int16)
        for j in range(i, self.count):
            if i == j:
                K = _diagonal_tile(self.kernel, self.blocks[i])
            else:
                K = _tile(self.kernel, self.blocks[i], self.blocks[j])
            cols = self._rows(j)
            c = slice(cols.start - rows.start, cols.stop - rows.start)
            hi[:, c], lo[:, c] = _split(np.asarray(K)[: hi.shape[0], : c.stop - c.start], self.unit)
        for k, row in enumerate(range(rows.start, rows.stop)):
            packed = slice(self.offsets[row], self.offsets[row + 1])
            self.hi[packed], self.lo[packed] = hi[k, k:], lo[k, k:]

    def _fast(self, V: np.ndarray) -> np.ndarray:
        """hi @ V by one float32 BLAS SSPMV per column (each reads every stored entry once: for
        10 columns, 10 SSPMVs measured 1.6x faster than row blocks unpacked into SGEMMs)."""
        out = np.empty(V.shape, dtype=np.float64)
        for col in range(V.shape[1]):
            out[:, col] = sla().blas.sspmv(self.n, 1.0, self.hi, V[:, col], lower=1)
        return out

    def _unpacked(self, V: np.ndarray, *, accurate: bool) -> np.ndarray:
        """K V by GEMMs over ``_WIDE_ROWS`` packed rows at a time unpacked into U (their upper
        part, zero left of the diagonal): U V and, through U^T, its mirror (the diagonal, counted
        twice, taken off once). ``accurate``: U = hi + unit lo in float64; else U = hi in
        float32, which reads every stored entry once for all of V's columns (``_fast`` reads
        them once per column)."""
        n = self.n
        dtype = np.float64 if accurate else np.float32
        out = np.zeros(V.shape, dtype=dtype)
        wide = np.empty((min(_WIDE_ROWS, n), n), dtype=dtype)
        for r0 in range(0, n, _WIDE_ROWS):
            r1 = min(r0 + _WIDE_ROWS, n)
            U, seg = wide[: r1 - r0, : n - r0], slice(self.offsets[r0], self.offsets[r1])
            flat = self.lo[seg] * self.unit + self.hi[seg] if accurate else self.hi[seg]
            for k in range(r1 - r0):
                U[k, :k] = 0.0
                U[k, k:] = flat[
                    self.offsets[r0 + k] - seg.start : self.offsets[r0 + k + 1] - seg.start
                ]
            out[r0:r1] += U @ V[r0:] - np.diagonal(U)[:, None] * V[r0:r1]
            out[r0:] += U.T @ V[r0:r1]
        return out.astype(np.float64, copy=False)

    def _fresh(self, V: np.ndarray) -> np.ndarray:
        """K @ V with every float64 tile recomputed (``store=False``)."""
        Vp = np.zeros((self.count * self.b, V.shape[1]), dtype=np.float64)
        Vp[: self.n] = V
        parts = Vp.reshape(self.count, self.b, -1)
        out = np.zeros(parts.shape, dtype=np.float64)
        for i in range(self.count):
            out[i] += np.asarray(_diag_fresh(self.kernel, self.blocks[i], parts[i]))
            for j in range(i + 1, self.count):
                res = _pair_fresh(self.kernel, self.blocks[i], self.blocks[j], parts[j], parts[i])
                out[i] += np.asarray(res[0])
                out[j] += np.asarray(res[1])
        return out.reshape(-1, V.shape[1])[: self.n]

    def matvec(self, V: np.ndarray, *, accurate: bool) -> np.ndarray:
        """K V for V (n, L) (or (n,)), returned in float64."""
        V = np.asarray(V)
        squeeze = V.ndim == 1
        V = V[:, None] if squeeze else V
        if not self.stored:
            out = self._fresh(V)
        elif accurate:
            out = self._unpacked(np.asarray(V, dtype=np.float64), accurate=True)
        elif V.shape[1] <= _SSPMV_COLUMNS:
            out = self._fast(np.asarray(V, dtype=np.float32))
        else:
            out = self._unpacked(np.asarray(V, dtype=np.float32), accurate=False)
        return out[:, 0] if squeeze else out
