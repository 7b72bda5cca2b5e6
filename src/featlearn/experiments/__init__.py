"""Experiments: combine targets, learners and metrics into records (DESIGN section 7).

``EXPERIMENTS`` maps an experiment name to an ``Experiment``: a pydantic config model and a function
``run(config, *, seed) -> record`` (a flat dict of JSON-safe values). The runtime runs cells of
these by name and stores their records; it knows nothing else about them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from featlearn.experiments._fit import FitConfig, fit_keys, run_fit, summarize, validate_fit_config
from featlearn.experiments._specs import SHIPPED_SPECS, spec_path
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
    "EXPERIMENTS",
    "SHIPPED_SPECS",
    "Experiment",
    "ExponentFit",
    "FitConfig",
    "TransferConfig",
    "fit_exponent",
    "fit_exponent_from_runs",
    "fit_keys",
    "run_alignment",
    "run_fit",
    "run_transfer",
    "spec_path",
    "spectrum_summary",
    "summarize",
    "thresholds",
    "transfer_keys",
    "validate_alignment_config",
    "validate_fit_config",
    "validate_transfer_config",
]
