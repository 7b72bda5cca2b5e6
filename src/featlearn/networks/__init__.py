"""The two-layer network and its activations (DESIGN section 2)."""

import featlearn._jax  # noqa: F401  (64-bit mode for float64 fits and solves)
from featlearn.networks._activations import ACTIVATIONS, Activation, get_activation, quadrature_dual
from featlearn.networks._twolayer import (
    TwoLayerParams,
    features,
    forward,
    init_giant_step,
    init_symmetric,
)

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "TwoLayerParams",
    "features",
    "forward",
    "get_activation",
    "init_giant_step",
    "init_symmetric",
    "quadrature_dual",
]
