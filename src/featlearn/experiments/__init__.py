"""Experiments: combine targets, learners and metrics into records (DESIGN section 7).

``EXPERIMENTS`` maps an experiment name to an ``Experiment``: a pydantic config model, a function
``run(config, *, seed) -> record`` (a flat dict of JSON-safe values) and, optionally, the expected
cost of a cell (``_cost.py``). The runtime runs cells of these by name and stores their records; it
knows nothing else about them (costs are plain numbers to it: ETA and ``--largest-first``).

Importing this package loads neither JAX nor pandas: the configurations and their validation come
from ``featlearn._configs``, and the names defined in modules that compute (``run_fit``,
``thresholds``...) are imported when first used. Each module that computes with JAX runs its
functions in JAX's 64-bit mode itself (``float64_inside(__name__)`` at its end), however it is
imported.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from featlearn._configs import (
    FitConfig,
    TransferConfig,
    validate_alignment_config,
    validate_fit_config,
    validate_transfer_config,
)
from featlearn.experiments._specs import REPRODUCE_SPECS, SCALES, SHIPPED_SPECS, spec_path

#: The public names of the modules that import JAX or pandas, by module: imported at first use,
#: so that reading and validating a sweep (``EXPERIMENTS[name].validate``) loads neither.
_DEFERRED_MODULES = {
    "_alignment": ("run_alignment", "spectrum_summary"),
    "_analysis": ("ExponentFit", "fit_exponent", "fit_exponent_from_runs", "thresholds"),
    "_claims": (
        "BUDGET",
        "EPS",
        "EPS_TABLE",
        "RULES",
        "SEPARATION",
        "THRESHOLDS",
        "separation_claims",
        "threshold_claims",
        "transfer_claims",
    ),
    "_fit": ("fit_keys", "run_fit"),
    "_separation": ("budget_column", "budget_table", "median_interval", "risk_trend"),
    "_transfer": ("run_transfer", "transfer_keys"),
}
_DEFERRED = {name: module for module, names in _DEFERRED_MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _DEFERRED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_DEFERRED})


@dataclass(frozen=True)
class _Deferred:
    """The function ``attr`` of module ``module``, imported at its first call (a cell's run or
    cost imports JAX in the process that runs it, not in the one that plans the sweep)."""

    module: str
    attr: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.attr)(*args, **kwargs)


def _deferred(module: str, attr: str) -> Callable[..., Any]:
    return _Deferred(f"featlearn.experiments.{module}", attr)


@dataclass(frozen=True)
class Experiment:
    """A named unit of work: ``validate(dict) -> config`` and ``run(config, *, seed) -> record``.

    ``cost(resolved config dict) -> float > 0``, optional, is the cell's expected cost in any
    fixed unit (only ratios between cells matter); a sweep weighs its ETA by it and
    ``--largest-first`` orders cells by it. Without it every cell counts 1.
    """

    name: str
    validate: Callable[..., Any]
    run: Callable[..., dict[str, Any]]
    cost: Callable[[dict[str, Any]], float] | None = None


EXPERIMENTS: dict[str, Experiment] = {
    "fit": Experiment(
        "fit", validate_fit_config, _deferred("_fit", "run_fit"), _deferred("_cost", "fit_cost")
    ),
    "transfer": Experiment(
        "transfer",
        validate_transfer_config,
        _deferred("_transfer", "run_transfer"),
        _deferred("_cost", "transfer_cost"),
    ),
    "alignment": Experiment(
        "alignment",
        validate_alignment_config,
        _deferred("_alignment", "run_alignment"),
        _deferred("_cost", "alignment_cost"),
    ),
}

__all__ = [
    "BUDGET",
    "EPS",
    "EPS_TABLE",
    "EXPERIMENTS",
    "REPRODUCE_SPECS",
    "RULES",
    "SCALES",
    "SEPARATION",
    "SHIPPED_SPECS",
    "THRESHOLDS",
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
    "threshold_claims",
    "thresholds",
    "transfer_claims",
    "transfer_keys",
    "validate_alignment_config",
    "validate_fit_config",
    "validate_transfer_config",
]
