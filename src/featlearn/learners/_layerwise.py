"""The layer-wise algorithm of Damian, Lee and Soltanolkotabi (2022), DESIGN section 3."""

from __future__ import annotations

from functools import partial

import jax
import numpy as np

from featlearn._configs import LayerwiseConfig
from featlearn._jax import RANDOM_COMPILE, jit
from featlearn.learners._base import DTYPES, register
from featlearn.learners._network import _check_stream, _NetworkLearner, normalised_eta
from featlearn.learners._steps import (
    first_layer_gradient,
    linear_part,
    ridge_head,
    split_validation,
)
from featlearn.networks import get_activation, init_symmetric
from featlearn.targets import Stream

__all__ = ["LayerwiseConfig", "LayerwiseLearner"]


@partial(jit, static_argnames=("width", "d", "dtype"), compiler_options=RANDOM_COMPILE)
def _init(key, *, width, d, dtype):
    """The symmetric initialisation from the first of ``split(key)`` and the second key (for the
    biases), in one compiled program."""
    k_init, k_bias = jax.random.split(key)
    return init_symmetric(width, d, key=k_init, dtype=dtype), k_bias


@register("layerwise")
class LayerwiseLearner(_NetworkLearner):
    """Layer-wise training: one large step on W from symmetric init, then a ridge head.

    Steps (DESIGN section 3): (1) alpha = mean y, beta = mean y x, labels y - alpha - beta.x;
    (2) W <- -eta1 grad_W L(theta_0) (weight decay 1/eta1 cancels W_0); (3) keep or redraw biases;
    (4) ridge on sigma(Wx + b) with lambda chosen on validation data. Predict alpha + beta.x + f(x).
    """

    Config = LayerwiseConfig

    def fit_stream(self, stream: Stream, *, key: jax.Array, validation=None) -> LayerwiseLearner:
        cfg, dtype = self.config, DTYPES[self.config.dtype]
        _check_stream(stream, dtype)
        params, k_bias = _init(key, width=cfg.width, d=stream.d, dtype=np.dtype(dtype))
        train, validation = split_validation(stream, validation, cfg.val_fraction)
        step_data, head_data = train.split(train.n // 2) if cfg.split else (train, train)
        act = get_activation(cfg.activation)
        alpha, beta = linear_part(train, enabled=cfg.preprocess)
        W, eta1 = self._first_layer_step(params, step_data, alpha, beta, act)
        b = self._biases(params.b, k_bias)
        a, lam, edge = ridge_head(W, b, act, head_data, alpha, beta, validation, cfg.head_options())
        self._set_network(W, b, a, alpha, beta, lam, act, stream.d, dtype, eta1, lambda_edge=edge)
        return self

    def _first_layer_step(self, params, stream, alpha, beta, act):
        """W = -eta1 grad. Neurons j and j + m/2 share (w, b) and have opposite a, so their
        gradients are opposite: compute the first half only (half the FLOPs) and mirror it."""
        half = params.width // 2
        W0, b0, a0 = (jax.device_put(np.asarray(v)[:half]) for v in (params.W, params.b, params.a))
        G = first_layer_gradient(W0, b0, a0, stream, alpha, beta, act, f_is_zero=True)
        eta1 = self.config.eta1 if self.config.eta1 is not None else normalised_eta(G)
        W = np.asarray(G) * np.asarray(-eta1, G.dtype)
        return jax.device_put(np.concatenate([W, -W])), eta1

    def _biases(self, b0, key):
        if not self.config.reinit_bias:
            return b0
        half = b0.shape[0] // 2
        b = np.asarray(jax.random.normal(key, (half,), dtype=b0.dtype))
        return jax.device_put(np.concatenate([b, b]))
