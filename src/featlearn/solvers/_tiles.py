"""A kernel matrix K (n, n) held as its upper triangle in 6 bytes per entry, for fast products.

K is evaluated once in float64, in b x b tiles (b <= 1024, for J >= I only: K is symmetric), and
stored as row panels: panel p holds rows r0 = 64 p to r1 = r0 + 64 (fewer at the end of a tile
row) from column r0 on, dense, so its first r1 - r0 columns are the whole symmetric diagonal
block and the rest is K[r0:r1, r1:] (the upper triangle plus 32 n entries). Each is split as

    K = hi + unit * lo,   hi = float32(K),   lo = int16(rint((K - hi) / unit)),

with unit = 2^(e - 39) for 2^e > max_i K_ii >= |K_ij| (K is PSD): |K - hi| <= 2^(e - 25), so
|lo| <= 2^14 fits int16, and |hi + unit lo - K| <= unit / 2 < 2^-39 max K_ii entrywise. hi alone is K
to float32 precision (relative 6e-8) and serves the inner, float32 CG steps; hi + unit lo,
widened to float64 a piece of a panel at a time, serves the float64 residuals of the iterative
refinement.
A product K V is, per panel P = [D | R], out[r0:r1] += P V[r0:] and out[r1:] += R^T V[r0:r1]:
BLAS calls on a panel small enough (64 x n x 4 bytes, 5 MB at n = 2e4) that the second reads it
from cache. Measured n = 2e4, seconds per float32 product of L columns, panels against the
LAPACK packed layout this replaced (one SSPMV per column, or unpacked rows and SGEMMs): L = 1
0.055 / 0.092, 4 0.17 / 0.37, 10 0.22 / 0.32; float64 (accurate) L = 1 0.48 / 1.3. The split is
done in NumPy: XLA's version of it cost 4-5x the kernel evaluation itself (measured 60 against
13 ns per entry, b = 1024). At n = 32,768 the halves take 3.2 GB instead of 8.6 GB for a dense
float64 K.

When they do not fit the memory budget, ``store=False`` recomputes each float64 tile at every
product instead (one kernel evaluation pass per product: slow, but memory O(n * L + b^2)).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._memory import TILE, tile_size, tile_workspace, tiles_memory
from featlearn.kernels import Kernel
from featlearn.kernels._blocks import _diag

__all__ = ["KernelTiles", "host_threads", "tile_size", "tile_workspace", "tiles_memory"]

LO_BITS = 39  # unit = 2^(e - LO_BITS): |K - hi| <= 2^(e - 25) = 2^14 units, inside int16
PANEL = 64  # rows per stored panel (see the module docstring)
_WIDE = 4096  # columns of a panel widened to float64 at once for an accurate product


def host_threads() -> int:
    """Threads for NumPy work split by hand: ``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``)
    when set, as featlearn's cells set it (one per worker, so N workers do not oversubscribe N
    cores), else the cores this process may use."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            return max(1, int(os.environ[name]))
        except (KeyError, ValueError):
            continue
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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


_SPLIT_ROWS = 32  # rows split at once: a float64 scratch of 32 x b stays in L2 (256 KB, b = 1024)


def _split(K: np.ndarray, unit: float, hi: np.ndarray, lo: np.ndarray, scratch: np.ndarray) -> None:
    """hi[...] = float32(K), lo[...] = int16(rint((K - hi) / unit)), written in place.

    ``_SPLIT_ROWS`` rows at a time through ``scratch`` (at least that many rows, K's width), so
    the intermediate K - hi never leaves cache and no temporary is allocated: whole-tile NumPy
    temporaries (8 MB each, three per tile) were freshly mapped pages every time: the build at
    n = 2e4 took 4.8-5.0 s, 3.5 s of it splitting, and takes 2.1-2.5 s this way (measured; the
    split alone is 3.5 ns an entry, more while XLA evaluates the next tile on both cores).
    K - hi is exact in float64 and the scaling by 1 / unit (a power of two) is exact too.
    """
    inv = 1.0 / unit
    for r0 in range(0, K.shape[0], _SPLIT_ROWS):
        r1 = min(r0 + _SPLIT_ROWS, K.shape[0])
        rest = scratch[: r1 - r0, : K.shape[1]]
        np.copyto(hi[r0:r1], K[r0:r1], casting="same_kind")
        np.subtract(K[r0:r1], hi[r0:r1], out=rest)
        rest *= inv
        np.rint(rest, out=rest)
        np.copyto(lo[r0:r1], rest, casting="unsafe")


class KernelTiles:
    """K (n, n) = kernel(X, X) in row panels of its upper part; ``matvec(V, accurate)`` gives K V.

    ``accurate=False``: hi @ V in float32 (relative error ~1e-6). ``accurate=True``: (hi + unit
    lo) @ V in float64 (|K~ - K| < 2^-39 max K_ii entrywise). With ``store=False`` both recompute
    float64 tiles (accurate either way). ``panels`` lists (r0, r1, hi, lo), hi and lo of shape
    (r1 - r0, n - r0).
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
        self.panels: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        self._buffers: list[np.ndarray] = []
        if self.stored:
            for i in range(self.count):
                self._tile_row(i)

    @property
    def nbytes(self) -> int:
        """Bytes of the stored halves: the tile rows' buffers the panels are views of."""
        return sum(buffer.nbytes for buffer in self._buffers)

    def _rows(self, i: int) -> slice:
        return slice(i * self.b, min((i + 1) * self.b, self.n))

    def _tile_row(self, i: int) -> None:
        """Evaluate tile row i (columns i * b to n) tile by tile and cut it into panels."""
        rows = self._rows(i)
        hi = np.empty((rows.stop - rows.start, self.n - rows.start), dtype=np.float32)
        lo = np.empty(hi.shape, dtype=np.int16)

        def evaluate(j: int):
            if i == j:
                return _diagonal_tile(self.kernel, self.blocks[i])
            return _tile(self.kernel, self.blocks[i], self.blocks[j])

        scratch = np.empty((_SPLIT_ROWS, self.b))
        following = evaluate(i)
        for j in range(i, self.count):
            K = following
            if j + 1 < self.count:  # XLA evaluates the next tile while NumPy splits this one
                following = evaluate(j + 1)
            cols = self._rows(j)
            c = slice(cols.start - rows.start, cols.stop - rows.start)
            K = np.asarray(K)[: hi.shape[0], : c.stop - c.start]
            _split(K, self.unit, hi[:, c], lo[:, c], scratch)
        self._buffers += [hi, lo]
        for k0 in range(0, hi.shape[0], PANEL):  # views: the tile row's buffers stay whole
            k1 = min(k0 + PANEL, hi.shape[0])
            panel = (slice(k0, k1), slice(k0, None))
            self.panels.append((rows.start + k0, rows.start + k1, hi[panel], lo[panel]))

    def _stored(self, V: np.ndarray, *, accurate: bool) -> np.ndarray:
        """K V from the panels: hi in float32, or hi + unit lo widened to float64."""
        if accurate:
            return self._widened(np.asarray(V, dtype=np.float64))
        V = np.asarray(V, dtype=np.float32)
        out = np.zeros(V.shape, dtype=np.float32)
        for r0, r1, hi, _ in self.panels:
            out[r0:r1] += hi @ V[r0:]
            out[r1:] += hi[:, r1 - r0 :].T @ V[r0:r1]
        return out.astype(np.float64)

    def _widened(self, V: np.ndarray) -> np.ndarray:
        """(hi + unit lo) V in float64, each panel widened ``_WIDE`` columns at a time into a
        buffer that stays in cache for its two products (0.48 s against 0.70 s for whole panels,
        one column, n = 2e4, measured). The widening is NumPy's, one core per call, so the panels
        are split into ``host_threads()`` groups of equal size, each summed by its own thread
        into its own output, and the outputs added in a fixed order (the same thread count gives
        the same bits; 0.29 against 0.52 s on 2 cores, n = 2e4, measured)."""
        groups = self._groups(host_threads())
        if len(groups) == 1:
            return self._widened_panels(V, groups[0])
        with ThreadPoolExecutor(len(groups)) as pool:
            parts = list(pool.map(lambda panels: self._widened_panels(V, panels), groups))
        return functools.reduce(np.add, parts)

    def _groups(self, k: int) -> list[list[tuple[int, int, np.ndarray, np.ndarray]]]:
        """The panels in at most k consecutive groups holding about equal numbers of entries."""
        sizes = np.cumsum([hi.size for _, _, hi, _ in self.panels])
        if k <= 1 or len(self.panels) < 2 * k:
            return [self.panels]
        cuts = np.searchsorted(sizes, sizes[-1] * np.arange(1, k) / k)
        bounds = [0, *sorted(set(int(c) + 1 for c in cuts)), len(self.panels)]
        return [self.panels[a:b] for a, b in itertools.pairwise(bounds) if b > a]

    def _widened_panels(self, V: np.ndarray, panels) -> np.ndarray:
        out = np.zeros(V.shape, dtype=np.float64)
        buf = np.empty((PANEL, _WIDE), dtype=np.float64)
        for r0, r1, hi, lo in panels:
            h, width = r1 - r0, hi.shape[1]
            for c0 in range(0, width, _WIDE):
                c1 = min(c0 + _WIDE, width)
                P = buf[:h, : c1 - c0]
                np.multiply(lo[:, c0:c1], self.unit, out=P)
                P += hi[:, c0:c1]
                out[r0:r1] += P @ V[r0 + c0 : r0 + c1]
                below = max(c0, h)  # columns right of the diagonal block: the mirror part
                if c1 > below:
                    out[r0 + below : r0 + c1] += P[:, below - c0 :].T @ V[r0:r1]
        return out

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
        out = self._stored(V, accurate=accurate) if self.stored else self._fresh(V)
        return out[:, 0] if squeeze else out
