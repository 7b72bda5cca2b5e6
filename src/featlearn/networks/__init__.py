"""The two-layer network and its activations (DESIGN section 2)."""

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

from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
