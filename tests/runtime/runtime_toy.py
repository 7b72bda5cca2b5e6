"""Tiny test-only experiments for the runtime tests, importable by worker processes.

Referenced from specs as ``runtime_toy:TOY`` / ``runtime_toy:CURVE`` (tests/runtime on PYTHONPATH).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from featlearn._errors import ConfigError
from featlearn.experiments import Experiment

HERE = Path(__file__).resolve().parent


class ToyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    x: float = 1.0
    k: int = Field(4, ge=1)
    sleep: float = Field(0.0, ge=0.0)
    fail: bool = False
    die_marker: str | None = None  # os._exit(1) while this file does not exist (first attempt)
    die_always: bool = False  # os._exit(1) on every attempt
    options: dict[str, Any] = Field(default_factory=dict)


def _validate(model: type[BaseModel], data: dict[str, Any], source: str) -> BaseModel:
    try:
        return model(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{source}: {key}: {err['msg']}; got {err.get('input')!r}") from None


def toy_value(x: float, k: int, seed: int) -> dict[str, Any]:
    """The toy record, computed independently of the runtime (the tests' reference)."""
    z = np.random.default_rng(seed).standard_normal(k)
    return {"value": x * float(z.mean()), "norm": float(np.linalg.norm(z)), "vector": z.tolist()}


def run_toy(cfg: ToyConfig, *, seed: int) -> dict[str, Any]:
    if cfg.die_marker is not None and not os.path.exists(cfg.die_marker):
        Path(cfg.die_marker).write_text(str(os.getpid()))
        os._exit(1)
    if cfg.die_always:
        os._exit(1)
    if cfg.fail:
        raise ValueError("toy failure on purpose")
    time.sleep(cfg.sleep)
    return toy_value(cfg.x, cfg.k, seed)


TOY = Experiment("toy", lambda data, source="toy": _validate(ToyConfig, data, source), run_toy)


class CurveConfig(BaseModel):
    """A fake learning curve with a known threshold: relative_risk = min(1, c d^k / n) e^{s z}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    learner: str = "fast"
    d: int = Field(4, ge=1)
    n: int = Field(100, ge=1)
    k: float = 2.0
    c: float = 1.0
    spread: float = 0.05


def run_curve(cfg: CurveConfig, *, seed: int) -> dict[str, Any]:
    z = np.random.default_rng(seed).standard_normal()
    rel = min(1.0, cfg.c * cfg.d**cfg.k / cfg.n) * float(np.exp(cfg.spread * z))
    return {
        "relative_risk": rel,
        "excess_risk": 2.0 * rel,
        "alignment": 1.0 - rel / 2,
        "energy_per_degree": [0.0, 0.25, 0.75],
    }


CURVE = Experiment(
    "curve", lambda data, source="curve": _validate(CurveConfig, data, source), run_curve
)
