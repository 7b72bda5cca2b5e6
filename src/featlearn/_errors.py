"""Errors raised on bad input and on numerical trouble.

Every message names the parameter, the constraint and the value received, so that the CLI can print
it as one line: ``d must be an integer >= r (= 3); got 2``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

__all__ = [
    "ConfigError",
    "FeatlearnError",
    "NumericalError",
    "RuntimeFailure",
    "check_finite",
    "check_int",
    "check_real",
]


class FeatlearnError(Exception):
    """Base class of every error featlearn raises on purpose."""


class ConfigError(FeatlearnError, ValueError):
    """A parameter, file or array given by the user violates a documented constraint."""


class NumericalError(FeatlearnError, ArithmeticError):
    """NaN, inf or a failed solve during a computation; the message names the step."""


class RuntimeFailure(FeatlearnError, RuntimeError):
    """The input was fine but the machine failed (disk full, a store that cannot be written,
    workers lost); the CLI exits with status 1 instead of 2."""


def check_int(name: str, value: Any, *, minimum: int | None = None, bound: str = "") -> int:
    """Return ``value`` as an int, or raise ConfigError naming ``name``.

    ``bound`` describes where the minimum comes from, e.g. ``"r (= 3)"``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        what = bound or str(minimum)
        raise ConfigError(f"{name} must be an integer >= {what}; got {value}")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite float within bounds, or raise ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigError(f"{name} must be a real number; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite; got {value}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        op = ">" if strict else ">="
        raise ConfigError(f"{name} must be {op} {minimum:g}; got {value:g}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be <= {maximum:g}; got {value:g}")
    return value


def check_finite(name: str, array: Any) -> None:
    """Raise ConfigError if ``array`` holds NaN or inf, naming the array and the first bad index."""
    import numpy as np

    arr = np.asarray(array)
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ConfigError(
            f"{name} must be finite; found {arr[index]} at index {index} "
            f"({int(bad.sum())} non-finite value(s) in all)"
        )
