"""scikit-learn compatible estimators for every registered learner (DESIGN section 4).

One explicit class per learner -- ``LayerwiseRegressor``, ``GiantStepRegressor``,
``RandomFeaturesRegressor``, ``KernelRidgeRegressor``, ``FullTrainingRegressor``, ``RFMRegressor``
-- whose ``__init__`` lists the learner's config fields as keyword parameters with the config's
defaults, plus ``random_state``; so ``get_params``, ``clone``, grid searches, IDEs and type
checkers all see them (a test keeps the parameters equal to the config's fields).
``FeatlearnRegressor(learner="layerwise", random_state=0, **options)`` wraps any registered learner,
including one registered by a user; ``regressor_class(name)`` returns the named class of ``name``.

Conventions: ``__init__`` only stores; ``fit`` validates X (n, d) and y (n,) (dense, real, finite),
casts them to the learner's dtype and fits with the JAX key derived from ``random_state`` (an int
seed, a JAX key, a numpy Generator/RandomState, or None for fresh OS entropy). Fitted state:
``learner_`` (the fitted featlearn learner) and ``n_features_in_``. Parameters are validated by the
learner's config at ``fit``, with its messages. scikit-learn itself is optional.
"""

from __future__ import annotations

from typing import Any, Literal

from featlearn._errors import ConfigError
from featlearn.learners._base import LEARNERS
from featlearn.learners._sklearn import (
    DataConversionWarning,
    FeatlearnRegressor,
    _NamedRegressor,
    _Regressor,
)

__all__ = [
    "DataConversionWarning",
    "FeatlearnRegressor",
    "FullTrainingRegressor",
    "GiantStepRegressor",
    "KernelRidgeRegressor",
    "LayerwiseRegressor",
    "RFMRegressor",
    "RandomFeaturesRegressor",
    "regressor_class",
]

Dtype = Literal["float32", "float64"]


class LayerwiseRegressor(_NamedRegressor):
    """The layer-wise learner of Damian, Lee, Soltanolkotabi (COLT 2022) as an estimator.

    One large gradient step on the first layer from a symmetric initialisation, then a ridge head
    on the learned features (DESIGN section 3).

    Parameters
    ----------
    random_state : int seed (default 0), JAX key, numpy Generator/RandomState, or None (OS entropy)
    width, activation, eta1, reinit_bias, preprocess, split, head, gd_steps, gd_lr, lambda_min,
    lambda_max, n_lambdas, val_fraction, dtype, block
        The fields of ``featlearn.learners.LayerwiseConfig``, with its meanings and defaults.
    """

    _learner_name = "layerwise"

    def __init__(
        self,
        *,
        random_state: Any = 0,
        width: int = 1000,
        activation: str = "relu",
        eta1: float | None = None,
        reinit_bias: bool = False,
        preprocess: bool = True,
        split: bool = False,
        head: Literal["ridge", "gd"] = "ridge",
        gd_steps: int = 1000,
        gd_lr: float | None = None,
        lambda_min: float = 1e-6,
        lambda_max: float = 10.0,
        n_lambdas: int = 29,
        val_fraction: float = 0.2,
        dtype: Dtype = "float32",
        block: int = 4096,
    ) -> None:
        self.random_state = random_state
        self.width = width
        self.activation = activation
        self.eta1 = eta1
        self.reinit_bias = reinit_bias
        self.preprocess = preprocess
        self.split = split
        self.head = head
        self.gd_steps = gd_steps
        self.gd_lr = gd_lr
        self.lambda_min = lambda_min
        self.lambda_max = lambda_max
        self.n_lambdas = n_lambdas
        self.val_fraction = val_fraction
        self.dtype = dtype
        self.block = block


class GiantStepRegressor(_NamedRegressor):
    """The giant-step learner (Dandi, Krzakala, Loureiro, Pesce, Stephan 2023) as an estimator: one
    large gradient step on the first layer from a non-symmetric initialisation, then a ridge head
    (DESIGN section 3).

    Parameters
    ----------
    random_state : int seed (default 0), JAX key, numpy Generator/RandomState, or None (OS entropy)
    width, activation, output_scale, a_init, loss, eta_rule, eta, lam, lam_scale, lambda_min,
    lambda_max, n_lambdas, val_fraction, preprocess, split, dtype, block
        The fields of ``featlearn.learners.GiantStepConfig``, with its meanings and defaults.
    """

    _learner_name = "giant-step"

    def __init__(
        self,
        *,
        random_state: Any = 0,
        width: int = 1000,
        activation: str = "relu",
        output_scale: Literal["none", "sqrt-width"] = "sqrt-width",
        a_init: Literal["normal", "sign"] = "normal",
        loss: Literal["mse", "half-mse"] = "mse",
        eta_rule: Literal["step-norm", "sqrt-nm", "fixed"] = "step-norm",
        eta: float | None = None,
        lam: float | None = None,
        lam_scale: Literal["mean", "sum"] = "mean",
        lambda_min: float = 1e-6,
        lambda_max: float = 10.0,
        n_lambdas: int = 29,
        val_fraction: float = 0.2,
        preprocess: bool = True,
        split: bool = False,
        dtype: Dtype = "float32",
        block: int = 4096,
    ) -> None:
        self.random_state = random_state
        self.width = width
        self.activation = activation
        self.output_scale = output_scale
        self.a_init = a_init
        self.loss = loss
        self.eta_rule = eta_rule
        self.eta = eta
        self.lam = lam
        self.lam_scale = lam_scale
        self.lambda_min = lambda_min
        self.lambda_max = lambda_max
        self.n_lambdas = n_lambdas
        self.val_fraction = val_fraction
        self.preprocess = preprocess
        self.split = split
        self.dtype = dtype
        self.block = block


class RandomFeaturesRegressor(_NamedRegressor):
    """Random features as an estimator: ridge on sigma(W0 x + b0), the first layer frozen at its
    symmetric initialisation -- the kernel regime at finite width (DESIGN section 4).

    Parameters
    ----------
    random_state : int seed (default 0), JAX key, numpy Generator/RandomState, or None (OS entropy)
    width, activation, preprocess, lam, lambda_min, lambda_max, n_lambdas, val_fraction, dtype
        The fields of ``featlearn.learners.RandomFeaturesConfig``, with its meanings and defaults.
    """

    _learner_name = "random-features"

    def __init__(
        self,
        *,
        random_state: Any = 0,
        width: int = 1000,
        activation: str = "relu",
        preprocess: bool = True,
        lam: float | None = None,
        lambda_min: float = 1e-6,
        lambda_max: float = 10.0,
        n_lambdas: int = 29,
        val_fraction: float = 0.2,
        dtype: Dtype = "float32",
    ) -> None:
        self.random_state = random_state
        self.width = width
        self.activation = activation
        self.preprocess = preprocess
        self.lam = lam
        self.lambda_min = lambda_min
        self.lambda_max = lambda_max
        self.n_lambdas = n_lambdas
        self.val_fraction = val_fraction
        self.dtype = dtype


class KernelRidgeRegressor(_NamedRegressor):
    """Kernel ridge with the network's NTK or NNGP, a polynomial or an RBF kernel, as an
    estimator; exact, preconditioned-CG or Nyström solves (DESIGN sections 4-5).

    The ``oracle`` variant needs the target's U, which an sklearn ``fit(X, y)`` does not carry:
    use ``featlearn.learners.KernelRidgeLearner(oracle=True).fit(X, y, key=..., projection=U)``.

    Parameters
    ----------
    random_state : int seed (default 0), JAX key, numpy Generator/RandomState, or None (OS entropy)
    kernel, activation, q, bandwidth, oracle, solver, centers, rank, max_bytes, lambda_min,
    lambda_max, n_lambdas, val_fraction, cg_tol, cg_max_iter, dtype
        The fields of ``featlearn.learners.KernelRidgeConfig``, with its meanings and defaults.
    """

    _learner_name = "kernel-ridge"

    def __init__(
        self,
        *,
        random_state: Any = 0,
        kernel: Literal["ntk", "nngp", "poly", "rbf"] = "ntk",
        activation: str = "relu",
        q: int = 2,
        bandwidth: float = 1.0,
        oracle: bool = False,
        solver: Literal["auto", "exact", "pcg", "nystrom"] = "auto",
        centers: int | None = None,
        rank: int | None = None,
        max_bytes: int = 4 * 2**30,
        lambda_min: float = 1e-8,
        lambda_max: float = 10.0,
        n_lambdas: int = 10,
        val_fraction: float = 0.2,
        cg_tol: float = 1e-7,
        cg_max_iter: int = 50,
        dtype: Dtype = "float64",
    ) -> None:
        self.random_state = random_state
        self.kernel = kernel
        self.activation = activation
        self.q = q
        self.bandwidth = bandwidth
        self.oracle = oracle
        self.solver = solver
        self.centers = centers
        self.rank = rank
        self.max_bytes = max_bytes
        self.lambda_min = lambda_min
        self.lambda_max = lambda_max
        self.n_lambdas = n_lambdas
        self.val_fraction = val_fraction
        self.cg_tol = cg_tol
        self.cg_max_iter = cg_max_iter
        self.dtype = dtype


class FullTrainingRegressor(_NamedRegressor):
    """The two-layer network with all layers trained by Adam or SGD (optax) and early stopping on
    validation data, as an estimator (DESIGN section 4).

    Parameters
    ----------
    random_state : int seed (default 0), JAX key, numpy Generator/RandomState, or None (OS entropy)
    width, activation, preprocess, optimizer, learning_rate, weight_decay, batch_size, max_epochs,
    eval_every, patience, min_delta, val_fraction, dtype
        The fields of ``featlearn.learners.FullTrainingConfig``, with its meanings and defaults.
    """

    _learner_name = "full-training"

    def __init__(
        self,
        *,
        random_state: Any = 0,
        width: int = 1000,
        activation: str = "relu",
        preprocess: bool = True,
        optimizer: Literal["adam", "sgd"] = "adam",
        learning_rate: float | None = None,
        weight_decay: float = 0.0,
        batch_size: int | None = 128,
        max_epochs: int = 500,
        eval_every: int = 1,
        patience: int = 20,
        min_delta: float = 1e-4,
        val_fraction: float = 0.2,
        dtype: Dtype = "float32",
    ) -> None:
        self.random_state = random_state
        self.width = width
        self.activation = activation
        self.preprocess = preprocess
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.eval_every = eval_every
        self.patience = patience
        self.min_delta = min_delta
        self.val_fraction = val_fraction
        self.dtype = dtype


class RFMRegressor(_NamedRegressor):
    """The Recursive Feature Machine (Radhakrishnan, Beaglehole, Pandit, Belkin, Science 2024) as
    an estimator: kernel ridge in a metric M learned from the predictor's average gradient outer
    product, T times (DESIGN section 4).

    Parameters
    ----------
    random_state : int seed (default 0), JAX key, numpy Generator/RandomState, or None (OS entropy)
    kernel, bandwidth, activation, iterations, rescale, lambda_min, lambda_max, n_lambdas,
    val_fraction, max_bytes, dtype
        The fields of ``featlearn.learners.RFMConfig``, with its meanings and defaults.
    """

    _learner_name = "rfm"

    def __init__(
        self,
        *,
        random_state: Any = 0,
        kernel: Literal["laplace", "gaussian", "ntk"] = "laplace",
        bandwidth: float = 10.0,
        activation: str = "relu",
        iterations: int = 3,
        rescale: Literal["none", "trace"] = "none",
        lambda_min: float = 1e-8,
        lambda_max: float = 10.0,
        n_lambdas: int = 10,
        val_fraction: float = 0.2,
        max_bytes: int = 4 * 2**30,
        dtype: Dtype = "float64",
    ) -> None:
        self.random_state = random_state
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.activation = activation
        self.iterations = iterations
        self.rescale = rescale
        self.lambda_min = lambda_min
        self.lambda_max = lambda_max
        self.n_lambdas = n_lambdas
        self.val_fraction = val_fraction
        self.max_bytes = max_bytes
        self.dtype = dtype


_CLASSES: dict[str, type[_NamedRegressor]] = {
    cls._learner_name: cls
    for cls in (
        LayerwiseRegressor,
        GiantStepRegressor,
        RandomFeaturesRegressor,
        KernelRidgeRegressor,
        FullTrainingRegressor,
        RFMRegressor,
    )
}


def regressor_class(learner: str) -> type[_Regressor]:
    """The named estimator class of the registered ``learner`` (e.g. ``LayerwiseRegressor``).

    A learner registered without a named class here (e.g. a user's own) runs as
    ``FeatlearnRegressor(learner, **options)``.
    """
    if learner not in LEARNERS:
        raise ConfigError(f"learner must be one of {sorted(LEARNERS)}; got {learner!r}")
    if learner not in _CLASSES:
        raise ConfigError(
            f"learner {learner!r} has no named estimator class (those with one: "
            f"{sorted(_CLASSES)}); use FeatlearnRegressor({learner!r}, **options)"
        )
    return _CLASSES[learner]
