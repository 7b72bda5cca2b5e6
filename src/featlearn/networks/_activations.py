"""Activations that carry their own kernels.

An Activation holds sigma, its derivative sigma', and two dual functions for a centred Gaussian pair
(u, v) with Var u = s11, Var v = s22, Cov(u, v) = s12:

    dual(s11, s12, s22)       = E[sigma(u) sigma(v)]        (gives the NNGP)
    dual_prime(s11, s12, s22) = E[sigma'(u) sigma'(v)]      (with dual, gives the NTK)

so that the network and its kernel baselines come from one definition (DESIGN sections 2 and 4).
ReLU and erf have closed forms (arc-cosine kernels of order 1 and 0; Williams 1997 for erf);
other activations use Gauss-Hermite quadrature on the bivariate normal.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError

__all__ = ["ACTIVATIONS", "Activation", "get_activation"]

Dual = Callable[[jnp.ndarray, jnp.ndarray, jnp.ndarray], jnp.ndarray]


@dataclass(frozen=True)
class Activation:
    """sigma with its derivative and its Gaussian duals; see the module docstring."""

    name: str
    fn: Callable[[jnp.ndarray], jnp.ndarray]
    deriv: Callable[[jnp.ndarray], jnp.ndarray]
    dual: Dual
    dual_prime: Dual

    def __call__(self, z: jnp.ndarray) -> jnp.ndarray:
        return self.fn(z)

    def cache_token(self) -> str | None:
        """The activation's identity for ``featlearn._jax.jit``'s executable cache: its name when
        registered (an unregistered one is compiled afresh in each process)."""
        return f"activation:{self.name}" if ACTIVATIONS.get(self.name) is self else None

    def __reduce__(self):
        """Pickle a registered activation by name: its JAX functions do not pickle by reference,
        and fitted learners must (sklearn persistence, joblib and Dask workers)."""
        if ACTIVATIONS.get(self.name) is not self:
            raise pickle.PicklingError(f"only registered activations pickle; got {self.name!r}")
        return get_activation, (self.name,)


def _angle(s11, s12, s22):
    norm = jnp.sqrt(s11 * s22)
    cos = jnp.clip(s12 / jnp.where(norm > 0, norm, 1.0), -1.0, 1.0)
    return norm, cos, jnp.arccos(cos)


def _relu_dual(s11, s12, s22):
    # arc-cosine kernel of order 1 (Cho and Saul 2009): |u||v| (sin t + (pi - t) cos t) / (2 pi)
    norm, cos, t = _angle(s11, s12, s22)
    return norm * (jnp.sqrt(1.0 - cos**2) + (jnp.pi - t) * cos) / (2 * jnp.pi)


def _relu_dual_prime(s11, s12, s22):
    # arc-cosine kernel of order 0: P(u > 0, v > 0) = (pi - t) / (2 pi)
    _, _, t = _angle(s11, s12, s22)
    return (jnp.pi - t) / (2 * jnp.pi)


def _erf_dual(s11, s12, s22):
    return (2 / jnp.pi) * jnp.arcsin(2 * s12 / jnp.sqrt((1 + 2 * s11) * (1 + 2 * s22)))


def _erf_dual_prime(s11, s12, s22):
    return (4 / jnp.pi) / jnp.sqrt((1 + 2 * s11) * (1 + 2 * s22) - 4 * s12**2)


def quadrature_dual(fn: Callable[[jnp.ndarray], jnp.ndarray], nodes: int = 64) -> Dual:
    """E[fn(u) fn(v)] for a centred Gaussian pair, by tensor Gauss-Hermite quadrature.

    Writes u = sqrt(s11) z1, v = sqrt(s22)(c z1 + sqrt(1 - c^2) z2) with c the correlation.
    Accurate for smooth fn; used for activations without a closed form.
    """
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)
    z1, z2 = np.meshgrid(z, z, indexing="ij")  # NumPy constants: nothing runs at import
    ww = np.outer(w, w)

    def dual(s11, s12, s22):
        norm, cos, _ = _angle(s11, s12, s22)
        s11, s22, cos = (jnp.asarray(a)[..., None, None] for a in (s11, s22, cos))
        u = jnp.sqrt(s11) * z1
        v = jnp.sqrt(s22) * (cos * z1 + jnp.sqrt(1 - cos**2) * z2)
        return jnp.sum(ww * fn(u) * fn(v), axis=(-2, -1))

    return dual


def _tanh_deriv(z):
    return 1.0 - jnp.tanh(z) ** 2


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(
        "relu",
        jax.nn.relu,
        lambda z: (z > 0).astype(z.dtype),
        _relu_dual,
        _relu_dual_prime,
    ),
    "erf": Activation(
        "erf",
        jax.lax.erf,  # what jax.scipy.special.erf calls, without its 0.1 s import
        lambda z: (2 / jnp.sqrt(jnp.pi)) * jnp.exp(-(z**2)),
        _erf_dual,
        _erf_dual_prime,
    ),
    "tanh": Activation(
        "tanh", jnp.tanh, _tanh_deriv, quadrature_dual(jnp.tanh), quadrature_dual(_tanh_deriv)
    ),
}


def get_activation(name: str | Activation) -> Activation:
    """Look an activation up by name (``relu``, ``erf``, ``tanh``) or pass one through."""
    if isinstance(name, Activation):
        return name
    if name not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {sorted(ACTIVATIONS)}; got {name!r}")
    return ACTIVATIONS[name]
