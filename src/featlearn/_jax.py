"""JAX as featlearn's numerical subpackages need it: 64-bit mode available.

Imported by the subpackages that compute with JAX (targets, networks, kernels, solvers, learners,
metrics, experiments), not by ``featlearn`` itself: ``import featlearn``, its runtime (sweeps,
stores, dry runs) and the CLI's bookkeeping commands leave JAX unimported and untouched. Every
array featlearn creates states its dtype (float32 by default for data and networks), so the
mode only makes float64 fits and solves possible.
"""

import jax

jax.config.update("jax_enable_x64", True)
