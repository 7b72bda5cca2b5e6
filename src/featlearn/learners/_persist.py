"""Saving and loading fitted learners in a documented format that survives refactors.

A saved learner is a folder of two files, readable without featlearn:

``learner.json``
    ``{"format": "featlearn-learner", "format_version": 1, "featlearn_version": "0.1.0",
    "learner": "<registered name>", "config": {<the Config as a plain dict>},
    "state": {<attribute>: <JSON value>}, "rebuilt": [<attributes rebuilt on load>]}``.
    In ``state`` an array is the object ``{"$array": "<key in arrays.npz>", "jax": true|false}``.
``arrays.npz``
    Every array of the fitted state (``W_``, ``coef_``, ``centers_``...), stored by numpy without
    pickle, at its own dtype, so predictions after ``load`` equal those before ``save`` bit for bit.

Nothing is pickled: a class may be renamed or moved and old files still load, because a learner is
rebuilt from its registered name and its config, and state that is a Python object rather than data
(the kernel, the activation, the dtype) is rebuilt from the config on load instead of stored.
A config field added later with a default loads old files unchanged; a field removed or renamed is
reported by name. Files from a newer format version are refused with the version they need.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError
from featlearn.learners._base import DTYPES, LEARNERS, Learner, make_learner

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT = "featlearn-learner"
FORMAT_VERSION = 1
CONFIG_FILE, ARRAYS_FILE = "learner.json", "arrays.npz"


def _rebuild_kernel(learner: Learner) -> Any:
    # kernel ridge: base kernel, wrapped in the oracle projection when the config asks for it;
    # RFM: the base kernel, which depends on d
    return learner._kernel(learner.d_)


def _rebuild_activation(learner: Learner) -> Any:
    from featlearn.networks import get_activation

    return get_activation(learner.config.activation)


#: Fitted attributes that are Python objects, rebuilt from the config (and d_) on load.
REBUILT = {
    "dtype_": lambda learner: DTYPES[learner.config.dtype],
    "activation_": _rebuild_activation,
    "kernel_": _rebuild_kernel,
}


def _encode(value: Any, name: str, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON value for ``value``; arrays go to ``arrays`` under ``name`` and are referenced."""
    if isinstance(value, jax.Array | np.ndarray):
        arrays[name] = np.asarray(value)
        return {"$array": name, "jax": isinstance(value, jax.Array)}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(v, f"{name}.{k}", arrays) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v, f"{name}.{i}", arrays) for i, v in enumerate(value)]
    raise ConfigError(
        f"learner state {name!r} must be an array, a number, a string or a list/dict of them "
        f"to be saved; got {type(value).__name__}"
    )


def _decode(value: Any, arrays: Any) -> Any:
    if isinstance(value, dict) and "$array" in value:
        arr = arrays[value["$array"]]
        return jnp.asarray(arr) if value.get("jax") else arr
    if isinstance(value, dict):
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def _plain_config(learner: Learner) -> dict[str, Any]:
    config = dataclasses.asdict(learner.config)
    for key, value in config.items():
        try:
            json.dumps(value)
        except TypeError:
            raise ConfigError(
                f"config field {key!r} must be JSON data (a name, not an object) to save the "
                f"learner; got {type(value).__name__}"
            ) from None
    return config


def save(learner: Learner, path: str | Path, *, overwrite: bool = False) -> Path:
    """Save a fitted learner as the folder ``path`` (``learner.json`` + ``arrays.npz``).

    Parameters
    ----------
    learner : a fitted learner (``fit`` was called).
    path : the folder to write; created with its parents.
    overwrite : replace the two files of an existing saved learner; otherwise an existing
        non-empty ``path`` is an error.

    Returns
    -------
    The folder written. See the module docstring for the format.
    """
    from featlearn import __version__

    learner._check_fitted()
    path = Path(path)
    if path.exists() and (not path.is_dir() or (any(path.iterdir()) and not overwrite)):
        raise ConfigError(
            f"path must be a new or empty folder (or pass overwrite=True); got existing {path}"
        )
    arrays: dict[str, np.ndarray] = {}
    state = {
        name: _encode(value, name, arrays)
        for name, value in vars(learner).items()
        if name != "config" and name not in REBUILT
    }
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "featlearn_version": __version__,
        "learner": learner.name,
        "config": _plain_config(learner),
        "state": state,
        "rebuilt": sorted(name for name in REBUILT if name in vars(learner)),
    }
    path.mkdir(parents=True, exist_ok=True)
    np.savez(path / ARRAYS_FILE, **arrays)
    (path / CONFIG_FILE).write_text(json.dumps(meta, indent=1, allow_nan=True) + "\n")
    return path


def _read_meta(path: Path) -> dict[str, Any]:
    file = path / CONFIG_FILE
    if not file.is_file():
        raise ConfigError(f"path must be a folder written by Learner.save; {file} does not exist")
    try:
        meta = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file} must be valid JSON; got a corrupt file ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ConfigError(f"{file} must have format {FORMAT!r}; got {_get(meta, 'format')!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise ConfigError(
            f"format_version must be an integer from 1 to {FORMAT_VERSION} (this featlearn); got "
            f"{version!r} in {file}, written by featlearn {_get(meta, 'featlearn_version')}: "
            "upgrade featlearn to read it"
        )
    for key in ("learner", "config", "state"):
        if key not in meta:
            raise ConfigError(f"{file} must have the key {key!r}; it is missing")
    return meta


def _get(meta: Any, key: str) -> Any:
    return meta.get(key) if isinstance(meta, dict) else None


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    file = path / ARRAYS_FILE
    if not file.is_file():
        raise ConfigError(f"path must hold {ARRAYS_FILE} next to {CONFIG_FILE}; {file} is missing")
    try:
        with np.load(file, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except Exception as exc:  # zipfile, ValueError, OSError: every way a truncated file fails
        raise ConfigError(
            f"{file} must be a readable .npz file; got a corrupt file ({exc})"
        ) from None


def load(path: str | Path) -> Learner:
    """Load a learner written by :meth:`Learner.save` (or :func:`save`).

    The folder holds ``learner.json`` (format name and version, featlearn's version, the learner's
    registered name, its config as a plain dict, and the fitted state, each array replaced by a
    reference ``{"$array": key}``) and ``arrays.npz`` (the arrays, at their dtypes, no pickle).
    Python objects of the state (kernel, activation, dtype) are rebuilt from the config.

    Parameters
    ----------
    path : the folder holding ``learner.json`` and ``arrays.npz``.

    Returns
    -------
    A fitted learner of the registered class, whose ``predict`` equals the saved one's.

    Raises
    ------
    ConfigError
        A missing or corrupt file, an unknown learner name, a config field this featlearn no
        longer has, an array the JSON references but the .npz lacks, or a newer format version.
    """
    path = Path(path)
    meta = _read_meta(path)
    arrays = _read_arrays(path)
    name = meta["learner"]
    if name not in LEARNERS:
        raise ConfigError(f"learner must be one of {sorted(LEARNERS)}; got {name!r} in {path}")
    try:
        learner = make_learner(name, **meta["config"])
        state = _decode(meta["state"], arrays)
    except (ConfigError, TypeError) as exc:
        raise ConfigError(f"{path / CONFIG_FILE}: {exc}") from None
    except KeyError as exc:
        raise ConfigError(
            f"{path / ARRAYS_FILE} must hold the array {exc}; it is missing"
        ) from None
    for attr, value in state.items():
        setattr(learner, attr, value)
    for attr in meta.get("rebuilt", []):
        if attr in REBUILT:
            setattr(learner, attr, REBUILT[attr](learner))
    return learner
