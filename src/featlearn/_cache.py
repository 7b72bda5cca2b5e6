"""JAX's persistent compilation cache for featlearn's command line and sweep workers.

A ``featlearn fit`` compiles on the order of a hundred small XLA programs; without a cache every
command pays that again (seconds). The CLI and every sweep worker call
``configure_compilation_cache()`` once at start, which points JAX at a folder in the user's cache
directory, shared by concurrent processes (JAX writes each entry to a temporary file and renames
it, so readers never see a partial entry). The library itself never changes JAX's configuration
on import: a user's own program decides.

Where: ``$FEATLEARN_CACHE_DIR`` if set (``off`` disables the cache), else
``$XDG_CACHE_HOME/featlearn/jax`` or ``~/.cache/featlearn/jax``.

The same call turns on featlearn's executable cache (``featlearn._jax.jit``) in the folder's
``executables`` subfolder: compiled programs kept whole, so a warm process does not even trace
them.

Configuring the cache does not import JAX: while JAX is not loaded, the options are set as the
environment variables JAX reads when it is imported (``JAX_COMPILATION_CACHE_DIR`` and friends),
so a command that never computes (``featlearn sweep --dry-run``) never pays JAX's import.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["cache_dir", "configure_compilation_cache", "executables_dir"]

ENV = "FEATLEARN_CACHE_DIR"
_OFF = ("off", "0", "none", "false", "")
_executables: Path | None = None  # where featlearn._jax.jit keeps executables; None: it does not


def executables_dir() -> Path | None:
    """The folder of featlearn's executable cache (``featlearn._jax.jit``): ``executables`` in the
    compilation cache folder once ``configure_compilation_cache`` turned caching on, else None."""
    return _executables


def cache_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The cache folder to use: ``explicit``, else $FEATLEARN_CACHE_DIR, else the user's cache
    directory; None when disabled (``off``)."""
    value = os.fspath(explicit) if explicit is not None else os.environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "featlearn" / "jax"


def configure_compilation_cache(explicit: str | os.PathLike | None = None) -> Path | None:
    """Turn JAX's persistent compilation cache on at ``cache_dir(explicit)`` (every program, however
    quick to compile, since featlearn's are many and small). Returns the folder, or None when the
    cache is disabled or the folder cannot be created (then JAX simply compiles as usual)."""
    global _executables
    _executables = None
    path = cache_dir(explicit)
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    _executables = path / "executables"
    options = {
        "jax_compilation_cache_dir": str(path),
        "jax_persistent_cache_min_compile_time_secs": 0.0,
        "jax_persistent_cache_min_entry_size_bytes": -1,
    }
    jax = sys.modules.get("jax")
    for name, value in options.items():
        if jax is not None:
            jax.config.update(name, value)
        else:  # read by JAX at its import, under the option's name in capitals
            os.environ[name.upper()] = str(value)
    return path
