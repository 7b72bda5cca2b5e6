"""featlearn: two-layer networks learn the few directions a multi-index target depends on.

``import featlearn`` does not import JAX, and no part of featlearn changes JAX's settings: the
numerical subpackages (targets, networks, kernels, solvers, learners, metrics, experiments) run
their own functions in JAX's 64-bit mode locally (``featlearn._jax``), so float64 fits and solves
are available while the caller's JAX code keeps its mode; every array featlearn creates states its
dtype explicitly (float32 by default for data and networks).
"""

from featlearn._errors import ConfigError, FeatlearnError, NumericalError

__version__ = "0.1.0"
__all__ = ["ConfigError", "FeatlearnError", "NumericalError", "__version__"]
