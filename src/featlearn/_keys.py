"""JAX's threefry key derivation (``key(seed)``, ``fold_in``, ``split``) computed in NumPy.

Deriving a handful of keys is a few hundred integer operations, but through JAX each of
``key``, ``fold_in``, ``split`` and the unpacking of a split is a compiled program: about 0.6 s
of a cold ``featlearn fit`` went to compiling them (measured). Threefry-2x32 (Salmon et al.
2011) is integer arithmetic modulo 2^32, so NumPy reproduces JAX's keys bit for bit; the tests
compare the two for many seeds under both settings of ``jax_threefry_partitionable``. A key is
wrapped with ``jax.random.wrap_key_data`` (no program). Under another PRNG implementation these
functions call JAX's own.
"""

from __future__ import annotations

import jax
import numpy as np

__all__ = ["fold_in", "key", "split"]

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _threefry(k1, k2, x1, x2) -> tuple[np.ndarray, np.ndarray]:
    """The Threefry-2x32 hash of counters (x1, x2) under key (k1, k2): 20 rounds, a key
    injection after every 4, as JAX's ``threefry2x32`` primitive computes it."""
    k1, k2 = np.uint32(k1), np.uint32(k2)
    ks = (k1, k2, k1 ^ k2 ^ _PARITY)
    x1, x2 = np.asarray(x1, np.uint32), np.asarray(x2, np.uint32)
    with np.errstate(over="ignore"):
        x1, x2 = x1 + ks[0], x2 + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x1 = x1 + x2
                x2 = (x2 << np.uint32(r)) | (x2 >> np.uint32(32 - r))
                x2 = x1 ^ x2
            x1 = x1 + ks[(i + 1) % 3]
            x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def _ours() -> bool:
    """Whether JAX's keys are the threefry-2x32 ones this module reproduces."""
    return str(jax.config.jax_default_prng_impl) == "threefry2x32"


def _wrap(k1, k2) -> jax.Array:
    return jax.random.wrap_key_data(np.array([k1, k2], np.uint32))


def key(seed: int) -> jax.Array:
    """``jax.random.key(seed)`` for an integer seed, as JAX builds it in 64-bit mode: the seed's
    64 bits split into two uint32 words."""
    if not _ours():
        return jax.random.key(seed)
    bits = int(seed) & 0xFFFFFFFFFFFFFFFF
    return _wrap(bits >> 32, bits & 0xFFFFFFFF)


def fold_in(k: jax.Array, data: int) -> jax.Array:
    """``jax.random.fold_in(k, data)``: the key hashed with counters (0, data mod 2^32)."""
    if not _ours():
        return jax.random.fold_in(k, data)
    k1, k2 = np.asarray(jax.random.key_data(k), np.uint32)
    y1, y2 = _threefry(k1, k2, [0], [int(data) & 0xFFFFFFFF])
    return _wrap(y1[0], y2[0])


def split(k: jax.Array, num: int = 2) -> tuple[jax.Array, ...]:
    """``tuple(jax.random.split(k, num))``."""
    if not _ours():
        return tuple(jax.random.split(k, num))
    k1, k2 = np.asarray(jax.random.key_data(k), np.uint32)
    if jax.config.jax_threefry_partitionable:  # counters (0, i): the i-th key is one hash
        y1, y2 = _threefry(k1, k2, np.zeros(num, np.uint32), np.arange(num, dtype=np.uint32))
        pairs = np.stack([y1, y2], axis=1)
    else:  # counters 0 .. 2 num - 1 hashed in two halves, read back in pairs
        counts = np.arange(2 * num, dtype=np.uint32)
        y1, y2 = _threefry(k1, k2, counts[:num], counts[num:])
        pairs = np.concatenate([y1, y2]).reshape(num, 2)
    return tuple(_wrap(a, b) for a, b in pairs)
