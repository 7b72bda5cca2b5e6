"""Experiments: combine targets, learners and metrics into records (DESIGN section 7).

``EXPERIMENTS`` maps an experiment name to an ``Experiment``: a pydantic config model and a function
``run(config, *, seed) -> record`` (a flat dict of JSON-safe values). The runtime runs cells of
these by name and stores their records; it knows nothing else about them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from featlearn.experiments._analysis import (
    ExponentFit,
    fit_exponent,
    fit_exponent_from_runs,
    thresholds,
)
from featlearn.experiments._fit import FitConfig, fit_keys, run_fit, summarize, validate_fit_config


@dataclass(frozen=True)
class Experiment:
    """A named unit of work: ``validate(dict) -> config`` and ``run(config, *, seed) -> record``."""

    name: str
    validate: Callable[..., Any]
    run: Callable[..., dict[str, Any]]


EXPERIMENTS: dict[str, Experiment] = {
    "fit": Experiment(
        "fit", validate_fit_config, lambda cfg, *, seed: summarize(run_fit(cfg, seed=seed))
    ),
}

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "ExponentFit",
    "FitConfig",
    "fit_exponent",
    "fit_exponent_from_runs",
    "fit_keys",
    "run_fit",
    "summarize",
    "thresholds",
    "validate_fit_config",
]
