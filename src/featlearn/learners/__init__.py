"""Learners: the layer-wise network, the giant step, RFM and the baselines, one protocol
(DESIGN sections 3-4).

``LEARNERS`` maps public names to classes; ``build_learner(name, options, width=...)`` is the one
path from a configuration to a learner (``make_learner(name, **options)`` its keyword form);
``learner.save(path)`` and ``load(path)`` store a fitted learner as JSON + .npz;
``with on_progress(callback):`` reports the progress of long fits (``featlearn._fit_progress``).
"""

from featlearn._fit_progress import on_progress
from featlearn.learners._base import (
    LEARNERS,
    Learner,
    NotFittedError,
    build_learner,
    make_learner,
    register,
)
from featlearn.learners._full_training import FullTrainingConfig, FullTrainingLearner
from featlearn.learners._giant_step import GiantStepConfig, GiantStepLearner
from featlearn.learners._kernel_ridge import KernelRidgeConfig, KernelRidgeLearner
from featlearn.learners._layerwise import LayerwiseConfig, LayerwiseLearner
from featlearn.learners._persist import load
from featlearn.learners._random_features import RandomFeaturesConfig, RandomFeaturesLearner
from featlearn.learners._rfm import RFMConfig, RFMLearner

__all__ = [
    "LEARNERS",
    "FullTrainingConfig",
    "FullTrainingLearner",
    "GiantStepConfig",
    "GiantStepLearner",
    "KernelRidgeConfig",
    "KernelRidgeLearner",
    "LayerwiseConfig",
    "LayerwiseLearner",
    "Learner",
    "NotFittedError",
    "RandomFeaturesConfig",
    "RandomFeaturesLearner",
    "RFMConfig",
    "RFMLearner",
    "build_learner",
    "load",
    "make_learner",
    "on_progress",
    "register",
]

from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
