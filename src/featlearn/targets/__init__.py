"""Multi-index polynomial targets f*(x) = g(Ux) in the orthonormal Hermite basis (DESIGN section 1)."""

from featlearn.targets._hermite import hermite_basis, hermite_normalized, multi_indices
from featlearn.targets._presets import (
    PRESETS,
    load_head,
    make_target,
    make_transfer_pair,
    random_head,
    target_from_callable,
)
from featlearn.targets._sampling import ArrayStream, DataStream, Stream
from featlearn.targets._target import Head, Target, TargetMoments, random_orthonormal_rows

__all__ = [
    "PRESETS",
    "ArrayStream",
    "DataStream",
    "Head",
    "Stream",
    "Target",
    "TargetMoments",
    "hermite_basis",
    "hermite_normalized",
    "load_head",
    "make_target",
    "make_transfer_pair",
    "multi_indices",
    "random_head",
    "random_orthonormal_rows",
    "target_from_callable",
]
