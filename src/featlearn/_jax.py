"""JAX's 64-bit mode where featlearn computes, and nowhere else (DESIGN section 12).

featlearn needs float64 in places (the kernel-ridge solves, the metrics' sums, the kernel theory,
float64 fits on request), and JAX offers it per thread through the ``jax.enable_x64`` context. So
``import featlearn`` changes no JAX setting: instead every function and method of the numerical
subpackages (targets, networks, kernels, solvers, learners, metrics, experiments) runs inside
``jax.enable_x64(True)``, which each of those packages arranges at the end of its ``__init__`` by
calling :func:`float64_inside`. The numbers are those of a process with the mode on globally; the
user's own JAX code keeps its mode (``jnp.ones(2).dtype`` is float32 before and after the import).

Arrays featlearn returns keep their dtype (float32 by default for data and networks); a float64
array used by the caller's own JAX code outside the mode follows JAX's rules there (it is
truncated to float32 with a warning), so convert results with ``np.asarray`` first when that
matters.
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any

import jax

__all__ = ["RANDOM_COMPILE", "float64_inside", "in_float64"]

# XLA options for programs that draw random numbers: JAX's threefry hash makes large LLVM code,
# and at optimisation level 1 it compiles in about 60% of the time (0.80 -> 0.50 s for a block
# of 4096 x 100 normals) with identical numbers and a block drawn in 5.4 ms instead of 4.2 ms
# (measured; level 0 changes the numbers). Such a program is compiled once per shape, so the
# saving is paid back on the first call: ``jax.jit(f, compiler_options=RANDOM_COMPILE)``.
RANDOM_COMPILE = {"xla_backend_optimization_level": 1}

_MARK = "__featlearn_float64__"
# Dunder methods that compute; the rest (repr, eq, hash...) are left as they are.
_DUNDERS = {"__init__", "__post_init__", "__call__", "__iter__", "__next__", "__getitem__"}


def in_float64(fn: Any) -> Any:
    """``fn`` run inside ``jax.enable_x64(True)``; generator functions keep the mode on while
    each item is produced (not while the caller holds it)."""
    if getattr(fn, _MARK, False):
        return fn
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with jax.enable_x64(True):
                gen = fn(*args, **kwargs)
            while True:
                with jax.enable_x64(True):
                    try:
                        item = next(gen)
                    except StopIteration as stop:
                        return stop.value
                yield item

    else:

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with jax.enable_x64(True):
                return fn(*args, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


def _wrap_attribute(value: Any) -> Any:
    """The class attribute ``value`` with its function(s) run in float64 mode, or None."""
    if isinstance(value, staticmethod | classmethod):
        return type(value)(in_float64(value.__func__))
    if isinstance(value, property) and value.fget is not None:
        return property(in_float64(value.fget), value.fset, value.fdel, value.__doc__)
    if isinstance(value, functools.cached_property):
        wrapped = functools.cached_property(in_float64(value.func))
        wrapped.attrname = value.attrname
        return wrapped
    if inspect.isfunction(value):
        return in_float64(value)
    return None


def _wrap_class(cls: type) -> None:
    if cls.__dict__.get(_MARK) or hasattr(cls, "model_fields") or issubclass(cls, BaseException):
        return  # done already; pydantic models and exceptions hold no numerics of their own
    for name, value in list(vars(cls).items()):
        if name.startswith("__") and name not in _DUNDERS:
            continue
        wrapped = _wrap_attribute(value)
        if wrapped is not None:
            setattr(cls, name, wrapped)
    setattr(cls, _MARK, True)


def float64_inside(package: str) -> None:
    """Run every function and method defined in ``package`` and its loaded modules inside
    ``jax.enable_x64(True)``: classes are changed in place; functions are replaced in every
    module of the package that holds them (re-exports and imports between its modules included).
    JAX-compiled functions are left alone: they are traced from inside the mode."""
    modules = [
        (name, module)
        for name, module in list(sys.modules.items())
        if module is not None and (name == package or name.startswith(package + "."))
    ]
    wrapped: dict[int, Any] = {}
    for name, module in modules:
        for value in list(vars(module).values()):
            if getattr(value, "__module__", None) != name:
                continue  # defined elsewhere
            if inspect.isclass(value):
                _wrap_class(value)
            elif inspect.isfunction(value) and not getattr(value, _MARK, False):
                wrapped[id(value)] = in_float64(value)
    for _, module in modules:
        for attr, value in list(vars(module).items()):
            if id(value) in wrapped:
                setattr(module, attr, wrapped[id(value)])
