"""The layer-wise algorithm of Damian, Lee and Soltanolkotabi (2022), DESIGN section 3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp

from featlearn._errors import ConfigError, check_int, check_real
from featlearn.learners._base import DTYPES, check_common, register
from featlearn.learners._network import _check_stream, _NetworkLearner, normalised_eta
from featlearn.learners._steps import (
    HeadOptions,
    first_layer_gradient,
    linear_part,
    ridge_head,
    split_validation,
)
from featlearn.networks import get_activation, init_symmetric
from featlearn.targets import Stream

__all__ = ["LayerwiseConfig", "LayerwiseLearner"]


@dataclass(frozen=True)
class LayerwiseConfig:
    """Options of the layer-wise learner; defaults reproduce the authors' reference implementation.

    width : even number of neurons m (symmetric pairs)
    activation : name of sigma (``relu``, ``erf``, ``tanh``)
    eta1 : first-layer step size; None = the value making mean_j |w_j|^2 = 1 after the step
    reinit_bias : re-draw biases from N(0, 1) after the first-layer step (default: keep them)
    preprocess : subtract alpha + beta.x from the labels first (step 1)
    split : use disjoint halves of the data for the first-layer step and the head (sample splitting)
    head : ``ridge`` (exact solve) or ``gd`` (gd_steps of gradient descent on a, the paper's form)
    gd_steps, gd_lr : GD head; lr None = 1/(2 (Lambda_max + lambda))
    lambda_min, lambda_max, n_lambdas : validation grid for lambda, times the mean eigenvalue of Phi^T Phi/n
    val_fraction : held-out fraction of n used to choose lambda when no validation set is given
    dtype : ``float32`` or ``float64`` for data and network
    block : rows per streamed chunk
    """

    width: int = 1000
    activation: str = "relu"
    eta1: float | None = None
    reinit_bias: bool = False
    preprocess: bool = True
    split: bool = False
    head: Literal["ridge", "gd"] = "ridge"
    gd_steps: int = 1000
    gd_lr: float | None = None
    lambda_min: float = 1e-6
    lambda_max: float = 10.0
    n_lambdas: int = 29
    val_fraction: float = 0.2
    dtype: Literal["float32", "float64"] = "float32"
    block: int = 4096

    def __post_init__(self) -> None:
        check_common(self)
        if self.eta1 is not None:
            check_real("eta1", self.eta1, minimum=0.0, strict=True)
        if self.head not in ("ridge", "gd"):
            raise ConfigError(f"head must be 'ridge' or 'gd'; got {self.head!r}")
        check_int("gd_steps", self.gd_steps, minimum=1)
        check_int("block", self.block, minimum=1)

    def head_options(self, fixed_lambda: float | None = None) -> HeadOptions:
        gd = self.head == "gd"
        return HeadOptions(
            self.lambda_min,
            self.lambda_max,
            self.n_lambdas,
            fixed_lambda,
            self.gd_steps if gd else None,
            self.gd_lr if gd else None,
        )


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
        k_init, k_bias = jax.random.split(key)
        train, validation = split_validation(stream, validation, cfg.val_fraction)
        step_data, head_data = train.split(train.n // 2) if cfg.split else (train, train)
        act = get_activation(cfg.activation)
        alpha, beta = linear_part(train, enabled=cfg.preprocess)
        params = init_symmetric(cfg.width, stream.d, key=k_init, dtype=dtype)
        W, eta1 = self._first_layer_step(params, step_data, alpha, beta, act)
        b = self._biases(params.b, k_bias)
        a, lam = ridge_head(W, b, act, head_data, alpha, beta, validation, cfg.head_options())
        self._set_network(W, b, a, alpha, beta, lam, act, stream.d, dtype, eta1)
        return self

    def _first_layer_step(self, params, stream, alpha, beta, act):
        """W = -eta1 grad. Neurons j and j + m/2 share (w, b) and have opposite a, so their
        gradients are opposite: compute the first half only (half the FLOPs) and mirror it."""
        half = params.width // 2
        W0, b0 = params.W[:half], params.b[:half]
        G = first_layer_gradient(W0, b0, params.a[:half], stream, alpha, beta, act, f_is_zero=True)
        eta1 = self.config.eta1 if self.config.eta1 is not None else normalised_eta(G)
        W = -eta1 * G
        return jnp.concatenate([W, -W]), eta1

    def _biases(self, b0, key):
        if not self.config.reinit_bias:
            return b0
        half = b0.shape[0] // 2
        b = jax.random.normal(key, (half,), dtype=b0.dtype)
        return jnp.concatenate([b, b])
