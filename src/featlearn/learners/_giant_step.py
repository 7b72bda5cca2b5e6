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
from featlearn.networks import TwoLayerParams, get_activation, init_giant_step
from featlearn.targets import Stream

__all__ = ["GiantStepConfig", "GiantStepLearner"]

_CHOICES = {
    "output_scale": ("none", "sqrt-width"),
    "a_init": ("normal", "sign"),
    "loss": ("mse", "half-mse"),
    "eta_rule": ("step-norm", "sqrt-nm", "fixed"),
    "lam_scale": ("mean", "sum"),
}
#: eta when none is given, per rule (``fixed`` needs one).
DEFAULT_ETA = {"step-norm": 8.0, "sqrt-nm": 10.0}


@dataclass(frozen=True)
class GiantStepConfig:
    """Options of the giant-step learner (see the module docstring for the formulas).

    width : neurons m (no pairing, no biases)
    activation : name of sigma
    output_scale : ``sqrt-width`` (f = (1/sqrt m) sum_j a_j sigma(w_j.x), the paper's) or ``none``
    a_init : ``normal`` (a_j ~ N(0, 1/m), the paper's) or ``sign`` (a_j = +-1/sqrt m)
    loss : ``mse`` (L = mean (f - y)^2) or ``half-mse`` (L/2, the paper's) for the step
    eta_rule : ``step-norm`` (mean_j |Delta w_j|^2 = eta^2), ``sqrt-nm`` (eta sqrt(n m)) or ``fixed``
    eta : the rule's constant; None = 8 for step-norm, 10 for sqrt-nm (fixed needs a value)
    lam : ridge penalty of the head; None = choose it on validation data over the lambda grid
    lam_scale : ``mean`` (penalty on the mean squared error, featlearn's) or ``sum`` (on the sum)
    lambda_min, lambda_max, n_lambdas, val_fraction : the validation grid when lam is None, as in
        LayerwiseConfig
    preprocess : remove alpha + beta.x from the labels first
    split : disjoint halves of the data for the step and the head
    dtype : ``float32`` or ``float64``
    block : rows per streamed chunk
    """

    width: int = 1000
    activation: str = "relu"
    output_scale: Literal["none", "sqrt-width"] = "sqrt-width"
    a_init: Literal["normal", "sign"] = "normal"
    loss: Literal["mse", "half-mse"] = "mse"
    eta_rule: Literal["step-norm", "sqrt-nm", "fixed"] = "step-norm"
    eta: float | None = None
    lam: float | None = None
    lam_scale: Literal["mean", "sum"] = "mean"
    lambda_min: float = 1e-6
    lambda_max: float = 10.0
    n_lambdas: int = 29
    val_fraction: float = 0.2
    preprocess: bool = True
    split: bool = False
    dtype: Literal["float32", "float64"] = "float32"
    block: int = 4096

    def __post_init__(self) -> None:
        check_int("width", self.width, minimum=1)
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} must be one of {list(allowed)}; got {getattr(self, name)!r}"
                )
        if self.eta is not None:
            check_real("eta", self.eta, minimum=0.0, strict=True)
        elif self.eta_rule == "fixed":
            raise ConfigError("eta must be a number > 0 with eta_rule = 'fixed'; got None")
        if self.lam is not None:
            check_real("lam", self.lam, minimum=0.0, strict=True)
        check_common(self)
        check_int("block", self.block, minimum=1)

    @property
    def scale(self) -> float:
        """The output scale s."""
        return 1.0 / math.sqrt(self.width) if self.output_scale == "sqrt-width" else 1.0

    def step_size(self, G, n: int) -> float:
        """eta of the first step for the gradient G (m, d) computed on n samples."""
        eta = self.eta if self.eta is not None else DEFAULT_ETA[self.eta_rule]
        if self.eta_rule == "sqrt-nm":
            return eta * math.sqrt(n * self.width)
        if self.eta_rule == "step-norm":
            return normalised_eta(G, eta)
        return eta

    def to_network_lambda(self, lam: float, n: int) -> float:
        """The penalty on the effective weights s a in featlearn's mean convention."""
        return lam / self.scale**2 / (n if self.lam_scale == "sum" else 1)

    def from_network_lambda(self, lam: float, n: int) -> float:
        return lam * self.scale**2 * (n if self.lam_scale == "sum" else 1)


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
        a, lam = self._head(W, p.b, act, head_data, alpha, beta, validation)
        self._set_network(W, p.b, a, alpha, beta, lam, act, stream.d, dtype, eta)
        return self

    def _giant_step(self, p: TwoLayerParams, stream: Stream, alpha, beta, act):
        """W_1 = W_0 - eta grad_W L; the gradient of f = s sum a sigma is that of sum (s a) sigma."""
        cfg = self.config
        a_eff = p.a * jnp.asarray(cfg.scale, p.a.dtype)
        G = first_layer_gradient(p.W, p.b, a_eff, stream, alpha, beta, act, f_is_zero=False)
        if cfg.loss == "half-mse":
            G = G / 2
        eta = cfg.step_size(G, stream.n)
        return p.W - eta * G, eta

    def _head(self, W, b, act, stream: Stream, alpha, beta, validation):
        """Ridge on s sigma(W x) in the configured convention, solved for the effective weights."""
        cfg = self.config
        if cfg.lam is None:
            opts = HeadOptions(cfg.lambda_min, cfg.lambda_max, cfg.n_lambdas)
        else:
            opts = HeadOptions(fixed_lambda=cfg.to_network_lambda(cfg.lam, stream.n))
        a, lam = ridge_head(W, b, act, stream, alpha, beta, validation, opts)
        return a, cfg.from_network_lambda(lam, stream.n)
