"""Experiments: combine targets, learners and metrics into records (DESIGN section 7).

``EXPERIMENTS`` maps an experiment name to an ``Experiment``: a pydantic config model and a function
``run(config, *, seed) -> record`` (a flat dict of JSON-safe values). The runtime runs cells of
these by name and stores their records; it knows nothing else about them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import featlearn._jax  # noqa: F401  (64-bit mode for float64 fits and solves)
from featlearn.experiments._alignment import (
    run_alignment,
    spectrum_summary,
    validate_alignment_config,
)
from featlearn.experiments._analysis import (
    ExponentFit,
    fit_exponent,
    fit_exponent_from_runs,
    thresholds,
)
from featlearn.experiments._claims import (
    BUDGET,
    EPS,
    EPS_TABLE,
    RULES,
    separation_claims,
    threshold_claims,
    transfer_claims,
)
from featlearn.experiments._fit import FitConfig, fit_keys, run_fit, summarize, validate_fit_config
from featlearn.experiments._separation import (
    budget_column,
    budget_table,
    median_interval,
    risk_trend,
)
from featlearn.experiments._specs import REPRODUCE_SPECS, SCALES, SHIPPED_SPECS, spec_path
from featlearn.experiments._transfer import (
    TransferConfig,
    run_transfer,
    transfer_keys,
    validate_transfer_config,
)


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
    "transfer": Experiment("transfer", validate_transfer_config, run_transfer),
    "alignment": Experiment("alignment", validate_alignment_config, run_alignment),
}

__all__ = [
    "BUDGET",
    "EPS",
    "EPS_TABLE",
    "EXPERIMENTS",
    "REPRODUCE_SPECS",
    "RULES",
    "SCALES",
    "SHIPPED_SPECS",
    "Experiment",
    "ExponentFit",
    "FitConfig",
    "TransferConfig",
    "budget_column",
    "budget_table",
    "fit_exponent",
    "fit_exponent_from_runs",
    "fit_keys",
    "median_interval",
    "risk_trend",
    "run_alignment",
    "run_fit",
    "run_transfer",
    "separation_claims",
    "spec_path",
    "spectrum_summary",
    "summarize",
    "threshold_claims",
    "thresholds",
    "transfer_claims",
    "transfer_keys",
    "validate_alignment_config",
    "validate_fit_config",
    "validate_transfer_config",
]
