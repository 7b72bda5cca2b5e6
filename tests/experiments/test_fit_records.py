"""The fit record says when the lambda chosen on validation is an end of its grid
(``lambda_at_edge`` "low"/"high", with a one-line warning), and is silent otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from featlearn.experiments import run_fit
from featlearn.experiments._fit import fit_cell
from featlearn.learners._steps import lambda_edge
from featlearn.runtime import canonical_json, jsonable

BASE = {"target": "single-he2", "d": 6, "n": 400, "n_val": 400, "n_test": 1000}
LEARNERS = {
    "kernel-ridge": {},
    "rfm": {"options": {"iterations": 1}},
    "random-features": {"width": 32},
    "layerwise": {"width": 32},
    "giant-step": {"width": 32},
}
TOO_HIGH = {"lambda_min": 10.0, "lambda_max": 100.0}  # noiseless labels want far less
TOO_LOW = {"lambda_min": 1e-12, "lambda_max": 1e-11}  # unit-variance noise wants far more


def _config(learner: str, grid: dict, noise: float) -> dict:
    extra = LEARNERS[learner]
    options = {**extra.get("options", {}), **grid}
    return {**BASE, **extra, "learner": learner, "noise": noise, "options": options}


def test_lambda_edge_names_the_end_of_the_grid():
    grid = np.geomspace(1e-3, 1.0, 4)
    assert lambda_edge(grid[0], grid) == "low" and lambda_edge(grid[-1], grid) == "high"
    assert lambda_edge(grid[1], grid) is None and lambda_edge(grid[2], grid) is None
    assert lambda_edge(grid[0], grid[::-1]) == "low"  # by value, not by position
    assert lambda_edge(0.5, [0.5]) is None  # one value: nothing was chosen


@pytest.mark.parametrize("learner", sorted(LEARNERS))
@pytest.mark.parametrize(
    ("grid", "noise", "edge"), [(TOO_HIGH, 0.0, "low"), (TOO_LOW, 1.0, "high")]
)
def test_a_grid_that_is_too_narrow_is_flagged_in_the_record(learner, grid, noise, edge):
    record = run_fit(_config(learner, grid, noise), seed=0)
    assert record["lambda_at_edge"] == edge
    (warning,) = record["warnings"]
    option = "lambda_min" if edge == "low" else "lambda_max"
    assert "\n" not in warning and f"{option} = {grid[option]:g}" in warning
    assert ("smallest" if edge == "low" else "largest") in warning
    stored = jsonable(record)  # as it enters the store
    assert stored["lambda_at_edge"] == edge and stored["warnings"] == [warning]


@pytest.mark.parametrize(("grid", "noise", "index"), [(TOO_HIGH, 0.0, 0), (TOO_LOW, 1.0, -1)])
def test_the_flag_agrees_with_the_validation_errors_it_comes_from(grid, noise, index):
    """Independent check on kernel ridge, which keeps its grid and validation MSE per lambda:
    the flagged end is where the validation error is least."""
    record, learner, _ = fit_cell(_config("kernel-ridge", grid, noise), seed=1)
    diag = learner.diagnostics()
    lambdas, mse = np.asarray(diag["lambdas"]), np.asarray(diag["validation_mse"])
    assert np.argmin(mse) == np.arange(lambdas.size)[index]
    assert record["lambda"] == lambdas[index] == (lambdas.min() if index == 0 else lambdas.max())
    assert record["lambda_at_edge"] == ("low" if index == 0 else "high")


@pytest.mark.parametrize("learner", ["kernel-ridge", "random-features", "layerwise"])
def test_a_normal_fit_is_not_flagged(learner):
    record, fitted, _ = fit_cell(_config(learner, {}, noise=0.5), seed=0)
    assert record["lambda_at_edge"] is None and record["warnings"] == []
    if learner == "kernel-ridge":  # the chosen lambda strictly inside its grid
        lambdas = np.asarray(fitted.diagnostics()["lambdas"])
        assert lambdas.min() < record["lambda"] < lambdas.max()
    assert '"lambda_at_edge":null' in canonical_json(record)


def test_a_fixed_lambda_is_never_at_an_edge():
    config = _config("giant-step", {}, noise=0.0)
    config["options"] = {"lam": 1e-3}
    record = run_fit(config, seed=0)
    assert record["lambda_at_edge"] is None and record["warnings"] == []
