"""JAX's 64-bit mode where featlearn computes, and nowhere else; and ``jit``, ``jax.jit`` with
featlearn's executable cache (DESIGN section 12, "The executable cache").

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
import hashlib
import inspect
import os
import pickle
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import jax
import numpy as np

from featlearn import _cache

__all__ = ["RANDOM_COMPILE", "float64_inside", "in_float64", "jit"]

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


# --- featlearn's executable cache -----------------------------------------------------------
#
# With JAX's persistent compilation cache warm, a new process still traces and lowers every
# jitted function to StableHLO before it can look the program up: about 60 ms per program
# (measured: 0.9 s of a 4.6 s `featlearn fit`, 14 programs, most of it in the random-number
# programs' threefry lowering). ``jit`` below keeps the compiled executables themselves, keyed by
# what determines them, so a warm process loads each in ~20 ms without tracing. It is active only
# where ``featlearn._cache.configure_compilation_cache`` switched caching on (the CLI and sweep
# workers); elsewhere it is exactly ``jax.jit``.

_ENVIRONMENT: tuple | None = None


def _package_fingerprint() -> str:
    """A hash of featlearn's own source: an executable is reused only by the code that made it."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _environment() -> tuple:
    """Everything outside the arguments that decides what XLA compiles, computed once."""
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        import jaxlib

        device = jax.devices()[0]
        _ENVIRONMENT = (
            jax.__version__,
            jaxlib.__version__,
            device.platform,
            device.device_kind,
            getattr(device.client, "platform_version", ""),
            jax.device_count(),
            os.environ.get("XLA_FLAGS", ""),
            _package_fingerprint(),
        )
    return _ENVIRONMENT


_HITS = threading.local()  # persistent-cache hits of JAX's in this thread's current compile


def _count_hits(event: str, **_: Any) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        _HITS.count = getattr(_HITS, "count", 0) + 1


jax.monitoring.register_event_listener(_count_hits)

_PLAIN = (type(None), bool, int, float, str)


def _static_token(value: Any) -> str | None:
    """A text that identifies a static argument across processes, or None when it has none (then
    the call is not cached on disk). Objects opt in with a ``cache_token()`` method."""
    if isinstance(value, _PLAIN):
        return repr(value)
    if isinstance(value, tuple):
        parts = [_static_token(v) for v in value]
        return None if None in parts else "(" + ",".join(parts) + ")"
    if isinstance(value, type | np.dtype):  # a dtype; another class has no identity here
        try:
            dtype = np.dtype(value)
        except TypeError:
            return None
        return None if dtype.kind == "O" else "dtype:" + str(dtype)
    token = getattr(value, "cache_token", None)
    return token() if callable(token) else None


def _tracing(args, kwargs) -> bool:
    """Whether any argument is a JAX tracer (the call is inside another traced function)."""
    leaves = jax.tree_util.tree_leaves((args, kwargs))
    return any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


class _CachedJit:
    """``jax.jit(fun, ...)`` that also keeps its compiled executables in memory and on disk."""

    def __init__(self, fun, static_argnames=(), compiler_options=None):
        self._fun = fun
        self._static = frozenset(
            (static_argnames,) if isinstance(static_argnames, str) else static_argnames
        )
        self._options = compiler_options
        self._jit = jax.jit(
            fun, static_argnames=tuple(self._static), compiler_options=compiler_options
        )
        self._signature = inspect.signature(fun)
        self._name = f"{fun.__module__}.{fun.__qualname__}"
        self._memory: dict[tuple, Any] = {}
        functools.update_wrapper(self, fun)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _tracing(args, kwargs):  # inside another traced function: inline it (a nested jit
            return self._fun(*args, **kwargs)  # may not carry XLA options, and needs no cache)
        folder = _cache.executables_dir()
        if folder is None:
            return self._jit(*args, **kwargs)
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        static = {k: v for k, v in bound.arguments.items() if k in self._static}
        names = [k for k in bound.arguments if k not in self._static]
        dynamic = [bound.arguments[k] for k in names]
        tokens = tuple((k, _static_token(v)) for k, v in sorted(static.items()))
        if any(t is None for _, t in tokens):
            return self._jit(*args, **kwargs)
        leaves, tree = jax.tree_util.tree_flatten(dynamic)
        key = (
            self._name,
            tokens,
            str(tree),
            tuple(str(jax.typeof(leaf)) for leaf in leaves),
            bool(jax.config.jax_enable_x64),
            repr(sorted((self._options or {}).items())),
        )
        compiled = self._memory.get(key)
        if compiled is not None:
            return compiled(*dynamic)
        digest = hashlib.sha256(repr((key, _environment())).encode()).hexdigest()
        path = folder / self._name / digest
        loaded = _load(path)
        if loaded is not None:
            try:  # a file that loads may still fail when run (a partial executable): recompile
                out = loaded(*dynamic)
                self._memory[key] = loaded
                return out
            except jax.errors.JaxRuntimeError:
                path.unlink(missing_ok=True)
        compiled = self._memory[key] = self._compile(path, digest, static, names, dynamic)
        return compiled(*dynamic)

    def _compile(self, path, digest, static, names, dynamic):
        from jax.experimental import serialize_executable

        def positional(*values):
            return self._fun(**dict(zip(names, values, strict=True)), **static)

        # JAX's persistent cache may answer this compile too, and an executable it loaded does
        # not serialize whole on CPU (the copy fails when run: "Function ... not found"). So the
        # program is named after its key (JAX's cache key includes the name), and when JAX's
        # cache still answers (another process compiled this key and our file is missing), it is
        # compiled once more under a name JAX's cache cannot hold.
        for suffix in (digest[:16], os.urandom(8).hex()):
            positional.__name__ = f"{self._fun.__name__}_{suffix}"
            _HITS.count = 0
            compiled = jax.jit(positional, compiler_options=self._options).lower(*dynamic).compile()
            if not _HITS.count:
                break
        else:
            return compiled
        tmp = None
        try:
            blob = pickle.dumps(serialize_executable.serialize(compiled))
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
                tmp.write(blob)
            os.replace(tmp.name, path)  # readers see the whole file or none
        except Exception:  # a cache that cannot be written only costs the next process time
            if tmp is not None:
                Path(tmp.name).unlink(missing_ok=True)
        return compiled


def _load(path: Path) -> Any:
    """The executable kept at ``path``, or None when it is absent, unreadable or from another
    build (then it is compiled again)."""
    from jax.experimental import serialize_executable

    try:
        payload, in_tree, out_tree = pickle.loads(path.read_bytes())
        return serialize_executable.deserialize_and_load(payload, in_tree, out_tree)
    except Exception:
        return None


def jit(fun=None, *, static_argnames=(), compiler_options=None):
    """``jax.jit`` with featlearn's executable cache (see above); use like ``jax.jit``:
    ``@jit`` or ``@partial(jit, static_argnames=(...))``. Static arguments are keyed by their
    ``repr`` (plain values, tuples, dtypes) or their ``cache_token()``; a call with any other
    static argument runs through plain ``jax.jit``."""
    if fun is None:
        return functools.partial(
            jit, static_argnames=static_argnames, compiler_options=compiler_options
        )
    return _CachedJit(fun, static_argnames, compiler_options)
