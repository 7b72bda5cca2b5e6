"""featlearn: two-layer networks learn the few directions a multi-index target depends on.

Importing featlearn enables JAX's 64-bit mode so that float64 fits and solves are available;
every array featlearn creates states its dtype explicitly (float32 by default for data and networks).
"""

import jax

jax.config.update("jax_enable_x64", True)

from featlearn._errors import ConfigError, FeatlearnError, NumericalError  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ConfigError", "FeatlearnError", "NumericalError", "__version__"]
