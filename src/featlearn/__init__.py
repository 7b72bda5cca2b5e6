"""featlearn: two-layer networks learn the few directions a multi-index target depends on.

``import featlearn`` does not import JAX; the numerical subpackages (targets, networks, kernels,
solvers, learners, metrics, experiments) turn JAX's 64-bit mode on when they are imported, so that
float64 fits and solves are available; every array featlearn creates states its dtype explicitly
(float32 by default for data and networks).
"""

from featlearn._errors import ConfigError, FeatlearnError, NumericalError

__version__ = "0.1.0"
__all__ = ["ConfigError", "FeatlearnError", "NumericalError", "__version__"]
