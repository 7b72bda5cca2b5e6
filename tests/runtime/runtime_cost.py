"""A test-only experiment whose cells cost d^3 units and declare it: the sweep-ETA tests' toy.

A cell sleeps ``unit * d^3 * noise`` seconds, with ``noise`` in [0.8, 1.25] drawn from its seed,
so its declared cost (``cost``: d^3) is its true cost up to noise. Referenced from specs as
``runtime_cost:COSTLY`` (tests/runtime on PYTHONPATH).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from featlearn.experiments import Experiment


class CostlyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    d: int = Field(4, ge=1)
    unit: float = Field(0.0, ge=0.0)  # seconds per unit of cost


def noise(seed: int) -> float:
    """The factor between a cell's true and declared cost, in [0.8, 1.25]."""
    return float(np.exp(np.random.default_rng(seed).uniform(np.log(0.8), np.log(1.25))))


def run_costly(cfg: CostlyConfig, *, seed: int) -> dict[str, Any]:
    time.sleep(cfg.unit * cfg.d**3 * noise(seed))
    return {"d": cfg.d}


def costly_cost(config: dict[str, Any]) -> float:
    return float(config["d"]) ** 3


COSTLY = Experiment(
    "costly",
    lambda data, source="costly": CostlyConfig(**data),
    run_costly,
    costly_cost,
)
