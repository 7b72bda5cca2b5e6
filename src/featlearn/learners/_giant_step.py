"""The giant-step learner: one large gradient step on the first layer from a non-symmetric
initialisation, then a ridge head (Dandi, Krzakala, Loureiro, Pesce, Stephan 2023, "How two-layer
neural networks learn, one (giant) step at a time"; DESIGN section 3, variant ``giant-step``).

Model: f(x) = s sum_j a_j sigma(w_j.x), no biases, w_j ~ N(0, I_d/d), a_j ~ N(0, 1/m) (or +-1/sqrt m),
output scale s = 1 (``output_scale="none"``) or 1/sqrt(m) (``"sqrt-width"``, the paper's).

1. Labels r = y - alpha - beta.x (mean and linear part removed, as the paper's preprocessing).
2. W_1 = W_0 - eta grad_W L(W_0, a_0), L = mean_i (f(x_i) - r_i)^2 (``loss="mse"``) or half of it
   (``"half-mse"``, the paper's); a_0 stays fixed. The step size follows ``eta_rule``:
   ``fixed``: eta;  ``sqrt-nm``: eta sqrt(n m) (the paper's, eta = 10);
   ``step-norm``: the eta making mean_j |w_j^1 - w_j^0|^2 = eta^2 (``normalised_eta``).
3. Head: ridge on the scaled features s sigma(W_1 x), penalty lam |a|^2 added to the mean squared
   error (``lam_scale="mean"``, featlearn's convention) or to the summed one (``"sum"``, the paper's
   notebook: ridge on sigma(W_1 x)/sqrt(p) with lam = 1), or lam chosen on validation data.
The fitted network stores the effective output weights s a, so f = sum_j a_j sigma(w_j.x).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from featlearn._configs import GiantStepConfig
from featlearn.learners._base import DTYPES, register
from featlearn.learners._network import _check_stream, _NetworkLearner, normalised_eta
from featlearn.learners._steps import (
    HeadOptions,
    first_layer_gradient,
    linear_part,
    ridge_head,
    split_validation,
)
from featlearn.networks import TwoLayerParams, get_activation, init_giant_step
from featlearn.targets import Stream

__all__ = ["GiantStepConfig", "GiantStepLearner"]


def initial_params(cfg: GiantStepConfig, d: int, *, key: jax.Array, dtype) -> TwoLayerParams:
    """W_0 (m, d) rows ~ N(0, I/d), b = 0, a_0 ~ N(0, 1/m) or its signs times 1/sqrt m."""
    p = init_giant_step(cfg.width, d, key=key, dtype=dtype)
    if cfg.a_init == "sign":
        p = TwoLayerParams(p.W, p.b, jnp.sign(p.a) / jnp.sqrt(jnp.asarray(cfg.width, dtype)))
    return p


@register("giant-step")
class GiantStepLearner(_NetworkLearner):
    """One giant gradient step on W from a non-symmetric init, then a ridge head (Dandi et al.
    2023). See the module docstring; ``GiantStepConfig`` holds the parametrisation."""

    Config = GiantStepConfig

    def fit_stream(self, stream: Stream, *, key: jax.Array, validation=None) -> GiantStepLearner:
        cfg, dtype = self.config, DTYPES[self.config.dtype]
        _check_stream(stream, dtype)
        if cfg.lam is None:
            stream, validation = split_validation(stream, validation, cfg.val_fraction)
        step_data, head_data = stream.split(stream.n // 2) if cfg.split else (stream, stream)
        act = get_activation(cfg.activation)
        alpha, beta = linear_part(stream, enabled=cfg.preprocess)
        p = initial_params(cfg, stream.d, key=key, dtype=dtype)
        W, eta = self._giant_step(p, step_data, alpha, beta, act)
        a, lam, edge = self._head(W, p.b, act, head_data, alpha, beta, validation)
        self._set_network(W, p.b, a, alpha, beta, lam, act, stream.d, dtype, eta, lambda_edge=edge)
        return self

    def _giant_step(self, p: TwoLayerParams, stream: Stream, alpha, beta, act):
        """W_1 = W_0 - eta grad_W L; the gradient of f = s sum a sigma is that of sum (s a) sigma."""
        cfg = self.config
        a_eff = p.a * jnp.asarray(cfg.scale, p.a.dtype)
        G = first_layer_gradient(p.W, p.b, a_eff, stream, alpha, beta, act, f_is_zero=False)
        if cfg.loss == "half-mse":
            G = G / 2
        eta = self._step_size(G, stream.n)
        return p.W - eta * G, eta

    def _step_size(self, G, n: int) -> float:
        """eta of the first step for the gradient G (m, d) computed on n samples."""
        cfg = self.config
        if cfg.eta_rule == "sqrt-nm":
            return cfg.eta_constant * math.sqrt(n * cfg.width)
        if cfg.eta_rule == "step-norm":
            return normalised_eta(G, cfg.eta_constant)
        return cfg.eta_constant

    def _head(self, W, b, act, stream: Stream, alpha, beta, validation):
        """Ridge on s sigma(W x) in the configured convention, solved for the effective weights."""
        cfg = self.config
        if cfg.lam is None:
            opts = HeadOptions(cfg.lambda_min, cfg.lambda_max, cfg.n_lambdas)
        else:
            opts = HeadOptions(fixed_lambda=cfg.to_network_lambda(cfg.lam, stream.n))
        a, lam, edge = ridge_head(W, b, act, stream, alpha, beta, validation, opts)
        return a, cfg.from_network_lambda(lam, stream.n), edge
