"""Keyed, chunked sampling: n samples are produced block by block, each block from its own key.

Two ways to walk a stream. Plain iteration yields (X, y) with a partial last block cut into
power-of-two pieces (see ``pieces``), so the shapes jitted code sees repeat across different n.
``Stream.masked()`` yields (X, y, w) blocks that all have one shape (``padded_rows``), the last one
padded and w its 0/1 row mask, so a consumer that weights each row by w compiles one program per
pass instead of one per piece size (the learners' steps do; see DESIGN section 12).

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
from featlearn._jax import RANDOM_COMPILE, jit

if TYPE_CHECKING:
    from featlearn.targets._target import Target

__all__ = [
    "ArrayStream",
    "DataStream",
    "Stream",
    "masked_blocks",
    "pad_rows",
    "padded_rows",
    "pieces",
]


@partial(
    jit,
    static_argnames=("block", "d", "dtype", "head", "sphere"),
    compiler_options=RANDOM_COMPILE,
)
def _draw_block(key, index, U, noise, *, block, d, dtype, head, sphere=False):
    """The whole block of ``block`` rows drawn from ``fold_in(key, index)``: one compiled program
    per (block, d, dtype, target), whatever the stream then cuts from it (compiling one program
    per piece size cost seconds each on small fits). ``sphere``: rows projected onto the sphere
    of radius sqrt(d)."""
    kx, ke = jax.random.split(jax.random.fold_in(key, index))
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


def padded_rows(n: int, block: int) -> int:
    """Rows of every block that ``Stream.masked()`` yields for n samples in blocks of ``block``:
    the block itself, or for a stream shorter than one block the power of two >= n (at least 8,
    at most the block). A sweep over n thus sees few shapes, and at most one block of padding."""
    if n >= block:
        return block
    return min(block, max(8, 1 << (n - 1).bit_length()))


def _row_mask(valid: int, rows: int, dtype: Any) -> jax.Array:
    """(rows,) with 1 for the first ``valid`` rows and 0 after, put on the device (no program)."""
    return jax.device_put((np.arange(rows) < valid).astype(dtype))


def pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` with zero rows appended up to ``rows`` rows."""
    if a.shape[0] == rows:
        return a
    pad = np.zeros((rows - a.shape[0], *a.shape[1:]), a.dtype)
    return np.concatenate([a, pad])


def masked_blocks(X, y, rows: int, dtype: Any) -> Iterator[tuple[jax.Array, jax.Array, jax.Array]]:
    """Arrays X (n, d) and y (n,) in blocks of ``rows`` rows, the last one zero-padded, each
    with its 0/1 row mask, in ``dtype`` on the device: what ``Stream.masked`` yields with
    ``rows = padded_rows(n, block)``. A caller may pass another stream's ``rows`` so that its
    rows reuse that stream's compiled programs. No check of the values (``ArrayStream`` checks
    its own)."""
    dtype = np.dtype(dtype)
    n = int(np.shape(X)[0])
    for lo in range(0, n, rows):
        valid = min(rows, n - lo)
        Xb = pad_rows(np.asarray(X[lo : lo + valid], dtype=dtype), rows)
        yb = pad_rows(np.asarray(y[lo : lo + valid], dtype=dtype), rows)
        yield jax.device_put(Xb), jax.device_put(yb), _row_mask(valid, rows, dtype)


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

    def cache_token(self) -> str:
        """The head's identity for ``featlearn._jax.jit``'s executable cache."""
        alphas, coefs, shape = self._key
        return f"head:{shape}:{alphas.hex()}:{coefs.hex()}"


class Stream:
    """Protocol of a re-iterable data source: ``n``, ``d`` and iteration over (X, y) blocks."""

    n: int
    d: int
    dtype: Any

    def __iter__(self) -> Iterator[tuple[jnp.ndarray, jnp.ndarray]]:  # pragma: no cover
        raise NotImplementedError

    def split(self, n_first: int) -> tuple[Stream, Stream]:  # pragma: no cover
        raise NotImplementedError

    def masked(self) -> Iterator[tuple[jax.Array, jax.Array, jax.Array]]:  # pragma: no cover
        """(X, y, w) blocks, all of ``padded_rows(n, block)`` rows; w is 1 on the stream's rows
        and 0 on the padding (whose X and y are finite but carry no meaning)."""
        raise NotImplementedError

    def materialize(self, start: int = 0) -> tuple[jnp.ndarray, jnp.ndarray]:
        """Rows start, start + 1, ... (all n by default) as two arrays, joined on the host (no
        compiled program per shape); rows before ``start`` are walked but not kept."""
        Xs, ys, seen = [], [], 0
        for X, y, w in self.masked():
            valid = int(np.asarray(w).sum())
            lo = max(start - seen, 0)
            if lo < valid:
                Xs.append(np.asarray(X)[lo:valid])
                ys.append(np.asarray(y)[lo:valid])
            seen += valid
        return jax.device_put(np.concatenate(Xs)), jax.device_put(np.concatenate(ys))


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

    def _blocks(self) -> Iterator[tuple[int, jax.Array, jax.Array]]:
        """(rows of the stream in it, X, y) for each whole drawn block."""
        U = jax.device_put(np.asarray(self.target.U, dtype=self.dtype))
        head = _HashableHead(self.target.head)
        noise = jax.device_put(np.asarray(self.noise, dtype=self.dtype))
        sphere = self.target.inputs == "sphere"
        for i, lo in enumerate(range(0, self.n, self.block)):
            index = np.uint32(self.start + i)
            X, y = _draw_block(
                self.key, index, U, noise, block=self.block, d=self.d, dtype=self.dtype, head=head,
                sphere=sphere,
            )  # fmt: skip
            yield min(self.block, self.n - lo), X, y

    def __iter__(self) -> Iterator[tuple[jnp.ndarray, jnp.ndarray]]:
        for valid, X, y in self._blocks():
            X, y = np.asarray(X), np.asarray(y)  # host slices: no compiled program per piece
            for offset, size in pieces(valid, self.block):
                rows = slice(offset, offset + size)
                yield jax.device_put(X[rows]), jax.device_put(y[rows])

    def masked(self) -> Iterator[tuple[jax.Array, jax.Array, jax.Array]]:
        rows = padded_rows(self.n, self.block)
        for valid, X, y in self._blocks():
            if rows < self.block:  # a short stream: the block's first rows, cut on the host
                X, y = (jax.device_put(np.asarray(v)[:rows]) for v in (X, y))
            yield X, y, _row_mask(valid, rows, self.dtype)

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
        dtype = np.dtype(self.dtype)
        for lo in range(0, self.n, self.block):
            for offset, size in pieces(min(self.block, self.n - lo), self.block):
                rows = slice(lo + offset, lo + offset + size)
                yield (
                    jax.device_put(np.asarray(self.X[rows], dtype=dtype)),
                    jax.device_put(np.asarray(self.y[rows], dtype=dtype)),
                )

    def masked(self) -> Iterator[tuple[jax.Array, jax.Array, jax.Array]]:
        return masked_blocks(self.X, self.y, padded_rows(self.n, self.block), self.dtype)

    def split(self, n_first: int) -> tuple[ArrayStream, ArrayStream]:
        if not 1 <= n_first < self.n:
            raise ConfigError(f"cannot split a stream of n = {self.n} samples at {n_first}")
        return (
            ArrayStream(self.X[:n_first], self.y[:n_first], self.block),
            ArrayStream(self.X[n_first:], self.y[n_first:], self.block),
        )
