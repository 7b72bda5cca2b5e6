"""Kernels of the network's kernel regime and classical baselines (DESIGN section 4).

``make_kernel(name, ...)`` builds ``ntk``, ``nngp`` (from the network's own activation), ``poly`` or
``rbf``; ``oracle(kernel, U)`` applies any of them to Ux. ``kernel_matrix`` and ``kernel_apply``
evaluate them block by block under a memory budget.
"""

from featlearn.kernels._blocks import (
    DEFAULT_BLOCK_BYTES,
    WORKSPACE,
    block_rows,
    kernel_apply,
    kernel_matrix,
)
from featlearn.kernels._kernels import (
    KERNELS,
    NNGP,
    NTK,
    RBF,
    Kernel,
    Oracle,
    Polynomial,
    make_kernel,
    oracle,
)

__all__ = [
    "DEFAULT_BLOCK_BYTES",
    "KERNELS",
    "NNGP",
    "NTK",
    "RBF",
    "WORKSPACE",
    "Kernel",
    "Oracle",
    "Polynomial",
    "block_rows",
    "kernel_apply",
    "kernel_matrix",
    "make_kernel",
    "oracle",
]

from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
