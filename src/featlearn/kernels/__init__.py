"""Kernels of the network's kernel regime and classical baselines (DESIGN section 4).

``make_kernel(name, ...)`` builds ``ntk``, ``nngp`` (from the network's own activation), ``poly`` or
``rbf``; ``oracle(kernel, U)`` applies any of them to Ux. ``kernel_matrix`` and ``kernel_apply``
evaluate them block by block under a memory budget.
"""

import featlearn._jax  # noqa: F401  (64-bit mode for float64 fits and solves)
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
