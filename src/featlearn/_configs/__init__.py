"""Learner and experiment configurations, checked without JAX (DESIGN section 4).

The frozen dataclasses of every learner's options, their checks and ``check_problem(n, n_val)``,
and the pydantic models of the experiments live here, below the numerical subpackages: reading a
sweep spec validates every cell's full learner configuration in a process that never imports JAX.
``featlearn.learners`` and ``featlearn.experiments`` re-export the public names.
"""

from featlearn._configs._base import (
    ACTIVATION_NAMES,
    DTYPE_NAMES,
    LEARNER_CONFIGS,
    LearnerConfig,
    check_common,
    check_width,
    config_from,
    fit_sizes,
    holdout_sizes,
    learner_config,
    register_config,
)
from featlearn._configs._experiments import (
    DEFAULT_OPTIONS,
    FitConfig,
    TransferConfig,
    validate_alignment_config,
    validate_fit_config,
    validate_model,
    validate_transfer_config,
)
from featlearn._configs._kernels import KERNEL_NAMES, PCG_MIN_N, KernelRidgeConfig, RFMConfig
from featlearn._configs._networks import (
    DEFAULT_ETA,
    FullTrainingConfig,
    GiantStepConfig,
    HeadOptions,
    LayerwiseConfig,
    RandomFeaturesConfig,
)

__all__ = [
    "ACTIVATION_NAMES",
    "DEFAULT_ETA",
    "DEFAULT_OPTIONS",
    "DTYPE_NAMES",
    "KERNEL_NAMES",
    "LEARNER_CONFIGS",
    "PCG_MIN_N",
    "FitConfig",
    "FullTrainingConfig",
    "GiantStepConfig",
    "HeadOptions",
    "KernelRidgeConfig",
    "LayerwiseConfig",
    "LearnerConfig",
    "RFMConfig",
    "RandomFeaturesConfig",
    "TransferConfig",
    "check_common",
    "check_width",
    "config_from",
    "fit_sizes",
    "holdout_sizes",
    "learner_config",
    "register_config",
    "validate_alignment_config",
    "validate_fit_config",
    "validate_model",
    "validate_transfer_config",
]
