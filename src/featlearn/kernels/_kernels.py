"""The kernel baselines of DESIGN section 4, derived from the network's own activation.

The network is f(x) = sum_j a_j sigma(w_j . x + b_j) with w_j ~ N(0, I/d), b_j ~ N(0, 1), a_j = +-1
(``featlearn.networks``). Its pre-activation at x is a centred Gaussian with covariance
E[(w.x + b)(w.x' + b)] = u.u', where u = (x / sqrt(d), 1). Writing s11 = |x|^2/d + 1,
s12 = x.x'/d + 1, s22 = |x'|^2/d + 1, the per-neuron kernels are

    NNGP(x, x') = E[sigma(w.x + b) sigma(w.x' + b)]          = dual(s11, s12, s22)
    NTK(x, x')  = lim_m (1/m) <grad_theta f(x), grad_theta f(x')>
                = dual(s11, s12, s22) + dual_prime(s11, s12, s22) * (x.x' + 1)

(the gradient in a_j gives sigma, in w_j gives a_j sigma' x, in b_j gives a_j sigma', and a_j^2 = 1),
with ``dual`` and ``dual_prime`` taken from the Activation, so that kernel and network share one
definition (for ReLU: arc-cosine kernels of order 1 and 0, Cho and Saul 2009). Also

    poly(x, x') = (1 + x.x'/d)^q                   (inner-product polynomial, q >= 1)
    rbf(x, x')  = exp(-|x - x'|^2 / (2 h^2 d))     (bandwidth h; |x - x'|^2 ~ 2d for x ~ N(0, I_d))

and ``oracle(k, U)(x, x') = k(Ux, Ux')`` for U (r, d) with orthonormal rows: the base kernel is
evaluated as if the data lived in dimension r (every formula above reads d from its inputs), i.e.
it is exactly the kernel of the same network built on the r relevant coordinates z = Ux.

Every kernel is a function of (x.x', |x|^2, |x'|^2, d) only; ``__call__(X, Z)`` gives the block
K[i, j] = k(X[i], Z[j]) and ``diag(X)`` gives k(X[i], X[i]). Kernels are JAX pytrees (static
except the oracle's U), so they can be passed to jitted functions.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError, check_int, check_real
from featlearn.kernels._arccos import relu_duals
from featlearn.networks import Activation, get_activation

__all__ = [
    "KERNELS",
    "NNGP",
    "NTK",
    "Kernel",
    "Oracle",
    "Polynomial",
    "RBF",
    "make_kernel",
    "oracle",
]


class Kernel(ABC):
    """A positive semi-definite kernel on R^d, evaluated on blocks of rows."""

    name: ClassVar[str]

    @abstractmethod
    def _from_gram(self, g, n1, n2, d: int) -> jnp.ndarray:
        """k from g = x.x', n1 = |x|^2, n2 = |x'|^2 (broadcastable arrays) and the dimension d."""

    def __call__(self, X: jnp.ndarray, Z: jnp.ndarray) -> jnp.ndarray:
        """K[i, j] = k(X[i], Z[j]) for X (n1, d), Z (n2, d); shape (n1, n2), X's dtype."""
        n1 = jnp.sum(X * X, axis=1)[:, None]
        n2 = jnp.sum(Z * Z, axis=1)[None, :]
        return self._from_gram(X @ Z.T, n1, n2, X.shape[1])

    def diag(self, X: jnp.ndarray) -> jnp.ndarray:
        """k(X[i], X[i]) for X (n, d); shape (n,)."""
        sq = jnp.sum(X * X, axis=1)
        return self._from_gram(sq, sq, sq, X.shape[1])


def _static(cls):
    """Register a kernel class as a pytree without leaves: all fields static, hashed by jit, with
    the class's name in the static data. (``register_dataclass`` keeps only the field values
    there, so RBF(bandwidth=2.0) and Polynomial(q=2) had equal tree structures and hashes, and a
    jitted kernel block could run the other kernel's program: seen as RBF values that were the
    polynomial kernel's, in the test suite.)"""
    fields = [f.name for f in dataclasses.fields(cls)]

    def flatten(kernel):
        return (), (cls.__qualname__, *(getattr(kernel, f) for f in fields))

    def unflatten(static, _):
        return cls(**dict(zip(fields, static[1:], strict=True)))

    jax.tree_util.register_pytree_node(cls, flatten, unflatten)
    return cls


def _is_relu(activation: Activation) -> bool:
    """The registered ReLU: its duals have a fast form (``_arccos``; same formulas, cheap arccos)."""
    return activation is get_activation("relu")


def _covariances(g, n1, n2, d: int):
    """Pre-activation covariances of u = (x/sqrt d, 1): (s11, s12, s22)."""
    return n1 / d + 1.0, g / d + 1.0, n2 / d + 1.0


@_static
@dataclass(frozen=True)
class NNGP(Kernel):
    """NNGP(x, x') = E_{w, b}[sigma(w.x + b) sigma(w.x' + b)] = activation.dual(s11, s12, s22)."""

    activation: Activation
    name: ClassVar[str] = "nngp"

    def _from_gram(self, g, n1, n2, d):
        s = _covariances(g, n1, n2, d)
        if _is_relu(self.activation):
            return relu_duals(*s)[0]
        return self.activation.dual(*s)


@_static
@dataclass(frozen=True)
class NTK(Kernel):
    """NTK(x, x') = dual(s11, s12, s22) + dual_prime(s11, s12, s22) (x.x' + 1), per neuron."""

    activation: Activation
    name: ClassVar[str] = "ntk"

    def _from_gram(self, g, n1, n2, d):
        s = _covariances(g, n1, n2, d)
        if _is_relu(self.activation):
            dual, dual_prime = relu_duals(*s)
            return dual + dual_prime * (g + 1.0)
        return self.activation.dual(*s) + self.activation.dual_prime(*s) * (g + 1.0)


@_static
@dataclass(frozen=True)
class Polynomial(Kernel):
    """poly(x, x') = (1 + x.x'/d)^q, q an integer >= 1 (q = 1: the linear kernel of (1, x/sqrt d))."""

    q: int = 2
    name: ClassVar[str] = "poly"

    def __post_init__(self) -> None:
        q = check_int("q", self.q, minimum=1)
        object.__setattr__(self, "q", q)

    def _from_gram(self, g, n1, n2, d):
        return (1.0 + g / d) ** self.q


@_static
@dataclass(frozen=True)
class RBF(Kernel):
    """rbf(x, x') = exp(-|x - x'|^2 / (2 h^2 d)), h = bandwidth > 0 in units of sqrt(d)."""

    bandwidth: float = 1.0
    name: ClassVar[str] = "rbf"

    def __post_init__(self) -> None:
        h = check_real("bandwidth", self.bandwidth, minimum=0.0, strict=True)
        object.__setattr__(self, "bandwidth", h)

    def _from_gram(self, g, n1, n2, d):
        dist2 = jnp.maximum(n1 + n2 - 2.0 * g, 0.0)
        return jnp.exp(-dist2 / (2.0 * self.bandwidth**2 * d))


@dataclass(frozen=True, eq=False)
class Oracle(Kernel):
    """k(Ux, Ux') for a base kernel k and U (r, d) with orthonormal rows; build it with ``oracle``."""

    base: Kernel
    U: jnp.ndarray  # (r, d)
    name: ClassVar[str] = "oracle"

    def _from_gram(self, g, n1, n2, d):  # pragma: no cover - __call__ and diag project first
        raise NotImplementedError

    def __call__(self, X, Z):
        U = self.U.astype(X.dtype)
        return self.base(X @ U.T, Z @ U.T)

    def diag(self, X):
        return self.base.diag(X @ self.U.astype(X.dtype).T)


jax.tree_util.register_dataclass(Oracle, data_fields=["U"], meta_fields=["base"])


def oracle(base: Kernel, U) -> Oracle:
    """The oracle version of ``base``: k(Ux, Ux'), U (r, d) with orthonormal rows (checked)."""
    U = np.asarray(U, dtype=np.float64)
    if U.ndim != 2 or U.shape[0] > U.shape[1]:
        raise ConfigError(f"U must have shape (r, d) with r <= d; got {U.shape}")
    if not np.allclose(U @ U.T, np.eye(U.shape[0]), atol=1e-8):
        raise ConfigError("U must have orthonormal rows (U U^T = I)")
    return Oracle(base, jnp.asarray(U))


KERNELS: dict[str, str] = {
    "ntk": "neural tangent kernel of the two-layer network at its initialisation",
    "nngp": "NNGP kernel E[sigma(w.x + b) sigma(w.x' + b)] of the same network",
    "poly": "inner-product polynomial (1 + x.x'/d)^q",
    "rbf": "Gaussian exp(-|x - x'|^2 / (2 h^2 d))",
}


def make_kernel(
    name: str,
    *,
    activation: str | Activation = "relu",
    q: int = 2,
    bandwidth: float = 1.0,
    U=None,
) -> Kernel:
    """Build a kernel by name (``ntk``, ``nngp``, ``poly``, ``rbf``); with U, its oracle version.

    ``activation`` is used by ntk and nngp, ``q`` by poly, ``bandwidth`` by rbf; all are validated
    whichever kernel is asked for, so a bad value is never silently ignored.
    """
    act = get_activation(activation)
    q = check_int("q", q, minimum=1)
    bandwidth = check_real("bandwidth", bandwidth, minimum=0.0, strict=True)
    builders = {
        "ntk": lambda: NTK(act),
        "nngp": lambda: NNGP(act),
        "poly": lambda: Polynomial(q),
        "rbf": lambda: RBF(bandwidth),
    }
    if name not in builders:
        raise ConfigError(f"kernel must be one of {sorted(builders)}; got {name!r}")
    kernel = builders[name]()
    return kernel if U is None else oracle(kernel, U)
