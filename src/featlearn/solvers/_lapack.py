"""SciPy's LAPACK and BLAS wrappers, imported at their first use.

``import scipy.linalg`` costs about 0.2 s of start-up, which a command that never calls it (a
layer-wise `featlearn fit` solves its ridge head with NumPy's eigh) should not pay.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["sla"]


def sla() -> ModuleType:
    """``scipy.linalg``, imported on the first call."""
    return importlib.import_module("scipy.linalg")
