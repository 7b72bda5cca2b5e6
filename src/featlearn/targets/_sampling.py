"""Keyed, chunked sampling: n samples are produced block by block, each block from its own key.

A partial last block is yielded as power-of-two pieces (see ``pieces``), so the shapes that jitted
code sees repeat across different n.

The rows of block i come from ``fold_in(key, i)``, so a stream can be walked several times (the
layer-wise learner makes three passes) and always yields the same data, in bounded memory.

Sphere inputs (``Target.inputs == "sphere"``) are the same Gaussian rows g rescaled to sqrt(d) g/|g|,
so they are uniform on the sphere of radius sqrt(d); Gaussian streams are unchanged by that option.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError, check_finite

if TYPE_CHECKING:
    from featlearn.targets._target import Target

__all__ = ["ArrayStream", "DataStream", "Stream", "pieces"]


@partial(jax.jit, static_argnames=("block", "d", "dtype", "head", "sphere"))
def _draw_block(key, U, noise, *, block, d, dtype, head, sphere=False):
    """The whole block of ``block`` rows drawn from ``key``: one compiled program per (block, d,
    dtype, target), whatever pieces the stream then cuts from it (compiling one program per piece
    size cost seconds each on small fits). ``sphere``: rows projected onto the sphere of radius
    sqrt(d)."""
    kx, ke = jax.random.split(key)
    X = jax.random.normal(kx, (block, d), dtype=dtype)
    if sphere:
        X = X * (jnp.sqrt(jnp.asarray(d, dtype)) / jnp.linalg.norm(X, axis=1, keepdims=True))
    xi = jax.random.normal(ke, (block,), dtype=dtype)
    return X, head(X @ U.T) + jnp.sqrt(noise).astype(dtype) * xi


def pieces(rows: int, block: int) -> list[tuple[int, int]]:
    """(offset, size) pieces covering ``rows`` rows of a block: the whole block, or for a partial
    block its binary decomposition (1808 = 1024 + 512 + 256 + 16). Every jitted consumer then sees
    at most log2(block) + 2 distinct shapes over any number of n, so a sweep over n compiles each
    once instead of once per n (compilation dominated small fits before)."""
    if rows == block:
        return [(0, block)]
    out, offset = [], 0
    for bit in reversed(range(rows.bit_length())):
        if rows & (1 << bit):
            out.append((offset, 1 << bit))
            offset += 1 << bit
    return out


class _HashableHead:
    """Wraps a Head so that jit can key its cache on the head's coefficients."""

    def __init__(self, head: Any) -> None:
        self.head = head
        self._key = (head.alphas.tobytes(), head.coefs.tobytes(), head.alphas.shape)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _HashableHead) and self._key == other._key

    def __call__(self, z):
        return self.head(z)


class Stream:
    """Protocol of a re-iterable data source: ``n``, ``d`` and iteration over (X, y) blocks."""

    n: int
    d: int
    dtype: Any

    def __iter__(self) -> Iterator[tuple[jnp.ndarray, jnp.ndarray]]:  # pragma: no cover
        raise NotImplementedError

    def split(self, n_first: int) -> tuple[Stream, Stream]:  # pragma: no cover
        raise NotImplementedError

    def materialize(self) -> tuple[jnp.ndarray, jnp.ndarray]:
        blocks = list(self)
        return jnp.concatenate([b[0] for b in blocks]), jnp.concatenate([b[1] for b in blocks])


@dataclass(frozen=True)
class DataStream(Stream):
    """n samples of a target, drawn block by block; ``start`` skips whole blocks (for splits)."""

    target: Target
    n: int
    key: jax.Array
    noise: float
    block: int
    dtype: Any
    start: int = 0  # index of the first block

    @property
    def d(self) -> int:
        return self.target.d

    def __iter__(self) -> Iterator[tuple[jnp.ndarray, jnp.ndarray]]:
        U = jnp.asarray(self.target.U, dtype=self.dtype)
        head = _HashableHead(self.target.head)
        noise = jnp.asarray(self.noise, dtype=self.dtype)
        sphere = self.target.inputs == "sphere"
        for i, lo in enumerate(range(0, self.n, self.block)):
            key = jax.random.fold_in(self.key, self.start + i)
            X, y = _draw_block(
                key, U, noise, block=self.block, d=self.d, dtype=self.dtype, head=head,
                sphere=sphere,
            )  # fmt: skip
            X, y = np.asarray(X), np.asarray(y)  # host slices: no compiled program per piece
            for offset, size in pieces(min(self.block, self.n - lo), self.block):
                yield jnp.asarray(X[offset : offset + size]), jnp.asarray(y[offset : offset + size])

    def split(self, n_first: int) -> tuple[DataStream, DataStream]:
        """Two disjoint streams; the first holds ``n_first`` rounded to whole blocks."""
        blocks = max(1, min(round(n_first / self.block), -(-self.n // self.block) - 1))
        n1 = blocks * self.block
        if n1 >= self.n:
            raise ConfigError(f"cannot split a stream of n = {self.n} samples in two")
        first = DataStream(
            self.target, n1, self.key, self.noise, self.block, self.dtype, self.start
        )
        rest = DataStream(
            self.target,
            self.n - n1,
            self.key,
            self.noise,
            self.block,
            self.dtype,
            self.start + blocks,
        )
        return first, rest


@dataclass(frozen=True)
class ArrayStream(Stream):
    """User-given arrays seen as a stream of row blocks; validated once at construction."""

    X: Any
    y: Any
    block: int = 4096

    def __post_init__(self) -> None:
        X, y = np.asarray(self.X), np.asarray(self.y)
        if X.ndim != 2:
            raise ConfigError(f"X must be a 2-D array (n, d); got shape {X.shape}")
        if y.shape != (X.shape[0],):
            raise ConfigError(f"y must have shape (n,) = ({X.shape[0]},); got {y.shape}")
        if X.shape[0] < 1:
            raise ConfigError(f"n must be an integer >= 1; got {X.shape[0]}")
        check_finite("X", X)
        check_finite("y", y)

    @property
    def n(self) -> int:
        return int(np.shape(self.X)[0])

    @property
    def d(self) -> int:
        return int(np.shape(self.X)[1])

    @property
    def dtype(self) -> Any:
        dt = np.asarray(self.X).dtype
        return jnp.float64 if dt == np.float64 else jnp.float32

    def __iter__(self) -> Iterator[tuple[jnp.ndarray, jnp.ndarray]]:
        for lo in range(0, self.n, self.block):
            for offset, size in pieces(min(self.block, self.n - lo), self.block):
                rows = slice(lo + offset, lo + offset + size)
                yield (
                    jnp.asarray(self.X[rows], dtype=self.dtype),
                    jnp.asarray(self.y[rows], dtype=self.dtype),
                )

    def split(self, n_first: int) -> tuple[ArrayStream, ArrayStream]:
        if not 1 <= n_first < self.n:
            raise ConfigError(f"cannot split a stream of n = {self.n} samples at {n_first}")
        return (
            ArrayStream(self.X[:n_first], self.y[:n_first], self.block),
            ArrayStream(self.X[n_first:], self.y[n_first:], self.block),
        )
