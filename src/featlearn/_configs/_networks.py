"""Options of the network learners: layer-wise, random features, full training and the giant step
(DESIGN sections 3-4). Frozen dataclasses checked in ``__post_init__``, without JAX."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from featlearn._configs._base import LearnerConfig, check_common, check_width, register_config
from featlearn._errors import ConfigError, check_int, check_real

__all__ = [
    "DEFAULT_ETA",
    "FullTrainingConfig",
    "GiantStepConfig",
    "HeadOptions",
    "LayerwiseConfig",
    "RandomFeaturesConfig",
]


@dataclass(frozen=True)
class HeadOptions:
    """How the second layer is fitted: lambda grid, or T GD steps (spectral form), or a fixed lambda."""

    lambda_min: float = 1e-6
    lambda_max: float = 10.0
    n_lambdas: int = 29
    fixed_lambda: float | None = None
    gd_steps: int | None = None
    gd_lr: float | None = None


@dataclass(frozen=True)
class LayerwiseConfig(LearnerConfig):
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
        check_width(self.width, paired=True)
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


@dataclass(frozen=True)
class RandomFeaturesConfig(LearnerConfig):
    """Options of the random-features learner (fields as in LayerwiseConfig where shared).

    width : even number of neurons m of the symmetric initialisation (m/2 distinct features)
    activation : name of sigma (``relu``, ``erf``, ``tanh``)
    preprocess : subtract alpha + beta.x from the labels first (as layer-wise step 1)
    lam : fixed ridge penalty on Phi^T Phi / n; None = choose it on validation data over the grid
    lambda_min, lambda_max, n_lambdas : validation grid for lambda, times the mean eigenvalue of Phi^T Phi/n
    val_fraction : held-out fraction of n used to choose lambda when no validation set is given
    dtype : ``float32`` or ``float64`` for data and network
    """

    width: int = 1000
    activation: str = "relu"
    preprocess: bool = True
    lam: float | None = None
    lambda_min: float = 1e-6
    lambda_max: float = 10.0
    n_lambdas: int = 29
    val_fraction: float = 0.2
    dtype: Literal["float32", "float64"] = "float32"

    def __post_init__(self) -> None:
        check_width(self.width, paired=True)
        check_common(self)
        if self.lam is not None:
            check_real("lam", self.lam, minimum=0.0, strict=True)


#: The optimizers of full training and the c of their default learning rate c / width.
LR_SCALE = {"adam": 0.1, "sgd": 0.5}


@dataclass(frozen=True)
class FullTrainingConfig(LearnerConfig):
    """Options of the full-training learner.

    width : even number of neurons m of the symmetric initialisation
    activation : name of sigma (``relu``, ``erf``, ``tanh``)
    preprocess : fit the network to y - alpha - beta.x (as layer-wise step 1); predict adds it back
    optimizer : ``adam`` (default) or ``sgd``; with batch_size None, sgd is full-batch gradient descent
    learning_rate : step size; None = c / width with c = 0.1 for adam and 0.5 for sgd. The output is
        not scaled (f = sum_j a_j sigma(w_j.x + b_j), a_j = +-1 at init), so a step of size lr on every
        parameter moves f by O(m lr): the default keeps that O(c) whatever the width. (On single-he2,
        d = 10, n = 2000-4000, m = 100-1000, Adam's risk varied little for c in [0.03, 1].)
    weight_decay : wd >= 0 in theta <- theta - lr (u + wd theta), on W, b and a (decoupled, as AdamW;
        for sgd it is the gradient of the penalty (wd/2) |theta|^2)
    batch_size : rows per step; None = full batch (one step per epoch)
    max_epochs : passes over the training data at most
    eval_every : epochs between validation checks
    patience : validation checks without improvement before stopping; the best parameters are restored
    min_delta : relative improvement of the validation loss that counts as one
    val_fraction : held-out fraction of n used for early stopping when no validation set is given
    dtype : ``float32`` or ``float64`` for data and network
    """

    width: int = 1000
    activation: str = "relu"
    preprocess: bool = True
    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: float | None = None
    weight_decay: float = 0.0
    batch_size: int | None = 128
    max_epochs: int = 500
    eval_every: int = 1
    patience: int = 20
    min_delta: float = 1e-4
    val_fraction: float = 0.2
    dtype: Literal["float32", "float64"] = "float32"

    def __post_init__(self) -> None:
        check_width(self.width, paired=True)
        check_common(self)
        if self.optimizer not in LR_SCALE:
            raise ConfigError(f"optimizer must be 'adam' or 'sgd'; got {self.optimizer!r}")
        if self.learning_rate is not None:
            check_real("learning_rate", self.learning_rate, minimum=0.0, strict=True)
        check_real("weight_decay", self.weight_decay, minimum=0.0)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, minimum=1)
        check_int("max_epochs", self.max_epochs, minimum=1)
        check_int("eval_every", self.eval_every, minimum=1)
        check_int("patience", self.patience, minimum=1)
        check_real("min_delta", self.min_delta, minimum=0.0)

    @property
    def lr(self) -> float:
        """The learning rate in use: ``learning_rate`` or c / width (see ``learning_rate``)."""
        if self.learning_rate is not None:
            return self.learning_rate
        return LR_SCALE[self.optimizer] / self.width


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
class GiantStepConfig(LearnerConfig):
    """Options of the giant-step learner (the formulas: DESIGN section 3, variant giant-step).

    width : neurons m (no pairing, no biases: any m >= 1)
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
        check_width(self.width, paired=False)
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

    @property
    def eta_constant(self) -> float:
        """The rule's constant: ``eta``, or the rule's default (``DEFAULT_ETA``)."""
        return self.eta if self.eta is not None else DEFAULT_ETA[self.eta_rule]

    def to_network_lambda(self, lam: float, n: int) -> float:
        """The penalty on the effective weights s a in featlearn's mean convention."""
        return lam / self.scale**2 / (n if self.lam_scale == "sum" else 1)

    def from_network_lambda(self, lam: float, n: int) -> float:
        return lam * self.scale**2 * (n if self.lam_scale == "sum" else 1)


register_config("layerwise", LayerwiseConfig, is_network=True)
register_config("random-features", RandomFeaturesConfig, is_network=True)
register_config("full-training", FullTrainingConfig, is_network=True)
register_config("giant-step", GiantStepConfig, is_network=True)
