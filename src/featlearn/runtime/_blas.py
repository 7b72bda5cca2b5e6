"""One BLAS thread count for every cell, wherever it runs, so results do not depend on the executor.

OpenBLAS splits a matrix product's inner sum across its threads, so the same cell run with 2
threads (in-process, on a 2-core machine) and with 1 thread (a pool or Dask worker) differs in
the last bits (measured: relative 1e-9 in a float32 layer-wise risk, 1e-16 in a float64 kernel
ridge risk). Every cell therefore runs with ``FEATLEARN_BLAS_THREADS`` BLAS threads (default 1,
which is also what keeps N workers from oversubscribing N cores).

The thread count is set twice: in the environment (``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``), read by libraries loaded later and by spawned
workers; and, for OpenBLAS libraries already loaded (numpy's, scipy's, which JAX's CPU LAPACK
calls), through their ``*_set_num_threads`` functions, found by their path in
``/proc/self/maps`` (Linux; elsewhere only the environment is set). XLA's own CPU threads are
not BLAS threads: its results match across processes of one machine, not across machines with
different core counts.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
from collections.abc import Iterator

__all__ = ["blas_threads", "cell_blas_threads"]

_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# OpenBLAS builds name their controls differently (plain, scipy's, 64-bit-integer suffixes).
_SUFFIXES = ("", "64_", "_64_")
_PREFIXES = ("openblas", "scipy_openblas")


def cell_blas_threads() -> int:
    """``FEATLEARN_BLAS_THREADS`` (default 1): BLAS threads of every cell."""
    try:
        return max(1, int(os.environ.get("FEATLEARN_BLAS_THREADS", "1")))
    except ValueError:
        return 1


def _loaded_openblas() -> list[str]:
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in paths if ".so" in os.path.basename(p))


@functools.cache
def _controls(path: str) -> tuple[object, object] | None:
    """(set, get) thread-count functions of the OpenBLAS library at ``path``, or None."""
    try:
        lib = ctypes.CDLL(path)  # already loaded: this returns the same handle
    except OSError:
        return None
    for prefix in _PREFIXES:
        for suffix in _SUFFIXES:
            setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                return setter, getter
    return None


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` BLAS threads (environment and loaded OpenBLAS libraries);
    restore the previous counts afterwards."""
    env = {name: os.environ.get(name) for name in _ENV}
    os.environ.update({name: str(n) for name in _ENV})
    restore = []
    for path in _loaded_openblas():
        if (controls := _controls(path)) is not None:
            setter, getter = controls
            restore.append((setter, int(getter())))
            setter(n)
    try:
        yield
    finally:
        for setter, previous in restore:
            setter(previous)
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
