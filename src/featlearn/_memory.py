"""Bytes the kernel solvers hold at their peak: pure arithmetic, without JAX (DESIGN sections 4-5).

One definition serves the solvers, which size their blocks and refuse a budget too small, and the
learner configurations (``featlearn._configs``), which refuse an impossible ``max_bytes`` when a
spec is read, before JAX is imported (``featlearn sweep --dry-run``).
"""

from __future__ import annotations

import math

__all__ = [
    "DEFAULT_BLOCK_BYTES",
    "RANK_CAP",
    "pcg_rank",
    "TILE",
    "WORKSPACE",
    "exact_memory",
    "nystrom_memory",
    "pcg_memory",
    "tile_size",
    "tile_workspace",
    "tiles_memory",
]

WORKSPACE = 6  # live (r, n2) temporaries while one kernel block is computed
DEFAULT_BLOCK_BYTES = 2**28  # 256 MiB of workspace per block
TILE = 1024  # largest side of a stored kernel tile
RANK_CAP = 2048  # adaptive rank's absolute ceiling (memory: F is 8 n RANK_CAP bytes)
PCG_PIVOTS = 128  # RPCholesky block
RANK_PER_ROOT = 11.0  # adaptive rank's ceiling at n: about 11 sqrt(n) (``pcg_rank``)
PCG_VECTORS = 12  # (n, L) float64 arrays live in refinement + CG
NYSTROM_VECTORS = 16  # (M, L) float64 CG vectors and temporaries


def pcg_rank(n: int) -> int:
    """The adaptive preconditioner rank's ceiling for n points: RANK_PER_ROOT sqrt(n) rounded to
    a whole number of PCG_PIVOTS blocks, at least one block, at most RANK_CAP and n.

    The factor costs ~2 n r^2 flops (RPCholesky's updates and F^T F) and each CG step a pass
    over the n^2 / 2 stored kernel entries plus two over F; a larger r buys fewer steps. The two
    balance where r grows like sqrt(n * steps), and measured totals (NTK, d = 32, lam from 1e-6
    to 1e-1 of the mean diagonal, ranks 1024 / 1536 / 2048; benchmarks/RESULTS.md) were
    lowest near 11 sqrt(n): 1024 at n = 8192, 1536 at n = 2e4 (2048 cost 1.3-3.6 s more there),
    2048 at n = 32,768.
    """
    r = PCG_PIVOTS * max(1, round(RANK_PER_ROOT * math.sqrt(n) / PCG_PIVOTS))
    return max(1, min(n, RANK_CAP, r))


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


def pcg_memory(n: int, rank: int, L: int, *, store: bool) -> int:
    """Peak bytes of ``pcg_ridge``: a block of kernel columns and F^T F while the preconditioner
    is built, or the stored tiles (``store``), plus the preconditioner (F and at most two
    rank x rank matrices: Cholesky factors or W), the CG vectors and one kernel block."""
    building = 8 * n * PCG_PIVOTS + 8 * rank * rank  # a block of columns, F^T F
    held = (tiles_memory(n) if store else 0) + tile_workspace(n)  # tiles + one being made
    vectors = PCG_VECTORS * 8 * n * L
    preconditioner = 8 * n * rank + 8 * rank * rank * 2
    return max(building, held) + preconditioner + vectors + DEFAULT_BLOCK_BYTES


def nystrom_memory(M: int, L: int, itemsize: int = 8) -> int:
    """Least budget for M centres and L lambdas: the float64 M x M matrices Falkon holds at its peak
    (T, T T^T / M and one factor A per lambda, plus one being made), the CG vectors and one block
    row of kernel workspace."""
    return 8 * M * M * (3 + L) + NYSTROM_VECTORS * 8 * M * L + WORKSPACE * M * itemsize


def exact_memory(n: int, n_val: int) -> int:
    """Bytes the exact solve holds: K (float64), its float32 factor, K_val, one kernel block."""
    return 12 * n * n + 8 * n_val * n + DEFAULT_BLOCK_BYTES
