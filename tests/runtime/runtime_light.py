"""A test experiment that imports nothing heavy (no featlearn.experiments, no JAX work), for
tests that start many processes at once: ``runtime_light:LIGHT`` (tests/runtime on PYTHONPATH)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from featlearn._errors import ConfigError


def _validate(data: dict[str, Any], source: str = "light") -> dict[str, Any]:
    unknown = sorted(set(data) - {"k", "sleep"})
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}")
    return {"k": int(data.get("k", 1)), "sleep": float(data.get("sleep", 0.0))}


def light_value(k: int, seed: int) -> dict[str, Any]:
    """The record, computed independently of the runtime (the tests' reference)."""
    return {"value": k * (seed % 1009), "seed": seed}


def _run(config: dict[str, Any], *, seed: int) -> dict[str, Any]:
    time.sleep(config["sleep"])
    return light_value(config["k"], seed)


LIGHT = SimpleNamespace(name="light", validate=_validate, run=_run)
