"""Learners: the layer-wise network and its baselines, one protocol (DESIGN sections 3-4).

``LEARNERS`` maps public names to classes; ``make_learner(name, **options)`` builds one.
"""

from featlearn.learners._base import LEARNERS, Learner, NotFittedError, make_learner, register
from featlearn.learners._layerwise import (
    GiantStepConfig,
    GiantStepLearner,
    LayerwiseConfig,
    LayerwiseLearner,
)

__all__ = [
    "LEARNERS",
    "GiantStepConfig",
    "GiantStepLearner",
    "LayerwiseConfig",
    "LayerwiseLearner",
    "Learner",
    "NotFittedError",
    "make_learner",
    "register",
]
