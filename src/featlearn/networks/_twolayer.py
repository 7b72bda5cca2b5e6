"""The two-layer network f(x) = sum_j a_j sigma(w_j . x + b_j), no output scaling (DESIGN section 2)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from featlearn._errors import ConfigError, check_int
from featlearn._jax import RANDOM_COMPILE, jit
from featlearn.networks._activations import Activation, get_activation

__all__ = ["TwoLayerParams", "features", "forward", "init_giant_step", "init_symmetric"]


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class TwoLayerParams:
    """Parameters: W (m, d) first layer, b (m,) biases, a (m,) second layer."""

    W: jnp.ndarray
    b: jnp.ndarray
    a: jnp.ndarray

    @property
    def width(self) -> int:
        return int(self.W.shape[0])


def init_symmetric(
    width: int, d: int, *, key: jax.Array, dtype: Any = jnp.float32
) -> TwoLayerParams:
    """Symmetric initialisation: w_j ~ N(0, I/d), b_j ~ N(0, 1), a_j = +1 for j < m/2, -1 after,
    and neuron j + m/2 copies w_j, b_j, so f is identically zero at initialisation.
    """
    width = check_int("width", width, minimum=2)
    if width % 2:
        raise ConfigError(f"width must be even with symmetric initialisation; got {width}")
    d = check_int("d", d, minimum=1)
    return _symmetric(key, half=width // 2, d=d, dtype=jnp.dtype(dtype))


@partial(jit, static_argnames=("half", "d", "dtype"), compiler_options=RANDOM_COMPILE)
def _symmetric(key, *, half, d, dtype) -> TwoLayerParams:
    """``init_symmetric`` as one compiled program (eager, it was eight)."""
    kw, kb = jax.random.split(key)
    W = jax.random.normal(kw, (half, d), dtype=dtype) / jnp.sqrt(jnp.asarray(d, dtype))
    b = jax.random.normal(kb, (half,), dtype=dtype)
    a = jnp.concatenate([jnp.ones(half, dtype), -jnp.ones(half, dtype)])
    return TwoLayerParams(jnp.concatenate([W, W]), jnp.concatenate([b, b]), a)


def init_giant_step(
    width: int, d: int, *, key: jax.Array, dtype: Any = jnp.float32
) -> TwoLayerParams:
    """Initialisation of the giant-step variant (Dandi et al. 2023): w_j ~ N(0, I/d),
    a_j ~ N(0, 1/m), no biases (b = 0), no pairing."""
    width = check_int("width", width, minimum=1)
    d = check_int("d", d, minimum=1)
    return _giant_step_init(key, width=width, d=d, dtype=jnp.dtype(dtype))


@partial(jit, static_argnames=("width", "d", "dtype"), compiler_options=RANDOM_COMPILE)
def _giant_step_init(key, *, width, d, dtype) -> TwoLayerParams:
    """``init_giant_step`` as one compiled program."""
    kw, ka = jax.random.split(key)
    W = jax.random.normal(kw, (width, d), dtype=dtype) / jnp.sqrt(jnp.asarray(d, dtype))
    a = jax.random.normal(ka, (width,), dtype=dtype) / jnp.sqrt(jnp.asarray(width, dtype))
    return TwoLayerParams(W, jnp.zeros(width, dtype), a)


def features(
    W: jnp.ndarray, b: jnp.ndarray, X: jnp.ndarray, activation: Activation | str
) -> jnp.ndarray:
    """phi(X) = sigma(X W^T + b), shape (n, m)."""
    return get_activation(activation).fn(X @ W.T + b)


def forward(
    params: TwoLayerParams, X: jnp.ndarray, activation: Activation | str = "relu"
) -> jnp.ndarray:
    """f_theta(X), shape (n,)."""
    return features(params.W, params.b, X, activation) @ params.a
