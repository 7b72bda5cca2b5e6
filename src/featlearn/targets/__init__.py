"""Multi-index polynomial targets f*(x) = g(Ux) in the orthonormal Hermite basis (DESIGN section 1)."""

from featlearn.targets._exponents import LearningExponents, learning_exponents
from featlearn.targets._hermite import hermite_basis, hermite_normalized, multi_indices
from featlearn.targets._presets import (
    PRESETS,
    load_head,
    make_target,
    make_transfer_pair,
    random_head,
    target_from_callable,
)
from featlearn.targets._projection import Projection, project, target_from_function
from featlearn.targets._sampling import (
    ArrayStream,
    DataStream,
    Stream,
    masked_blocks,
    pad_rows,
    padded_rows,
)
from featlearn.targets._sphere import INPUTS, DegreeBasis, degree_basis, sphere_moment
from featlearn.targets._target import Head, Target, TargetMoments, random_orthonormal_rows

__all__ = [
    "PRESETS",
    "INPUTS",
    "ArrayStream",
    "DataStream",
    "DegreeBasis",
    "Head",
    "LearningExponents",
    "Projection",
    "Stream",
    "Target",
    "TargetMoments",
    "degree_basis",
    "hermite_basis",
    "hermite_normalized",
    "learning_exponents",
    "load_head",
    "make_target",
    "make_transfer_pair",
    "multi_indices",
    "masked_blocks",
    "pad_rows",
    "padded_rows",
    "project",
    "random_head",
    "random_orthonormal_rows",
    "sphere_moment",
    "target_from_callable",
    "target_from_function",
]

from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
