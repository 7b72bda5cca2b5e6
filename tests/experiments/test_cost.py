"""The expected cost of a cell (``experiments/_cost.py``): its growth in n, d, width and epochs
against the closed forms it models, and every shipped spec's cells."""

from __future__ import annotations

import math

import pytest

from featlearn.experiments import EXPERIMENTS, SHIPPED_SPECS, spec_path
from featlearn.experiments._cost import learner_cost
from featlearn.learners import make_learner
from featlearn.runtime import expand, load_spec
from featlearn.runtime._progress import expected_costs


def _ratio(name: str, small: dict, large: dict, n: int, d: int = 20, **options) -> float:
    learner = make_learner(name, **options)
    cost = lambda **kw: learner_cost(learner, **{"n": n, "d": d, "n_val": 0, "n_test": 0, **kw})  # noqa: E731
    return cost(**large) / cost(**small)


def test_exact_kernel_ridge_grows_like_n_cubed():
    ratio = _ratio("kernel-ridge", {}, {"n": 40_000}, 20_000, solver="exact", max_bytes=2**40)
    assert ratio == pytest.approx(8.0, rel=0.02)  # the n^3 of the Cholesky factors dominates


def test_pcg_grows_like_n_squared():
    ratio = _ratio("kernel-ridge", {}, {"n": 200_000}, 100_000, solver="pcg", rank=64)
    assert ratio == pytest.approx(4.0, rel=0.02)


def test_network_learners_grow_like_n_m_d():
    for name in ("layerwise", "random-features", "giant-step"):
        assert _ratio(name, {}, {"n": 2 * 10**7}, 10**7, width=64) == pytest.approx(2, rel=0.01)
        grow_d = _ratio(name, {}, {"d": 2000}, 10**6, d=1000, width=64)
        assert grow_d == pytest.approx(2, rel=0.05)


def test_full_training_grows_like_its_epochs():
    short = make_learner("full-training", width=100, max_epochs=50)
    long = make_learner("full-training", width=100, max_epochs=100)
    args = dict(n=1000, d=20, n_val=200, n_test=1000)
    assert learner_cost(long, **args) == pytest.approx(2 * learner_cost(short, **args))


def test_costs_order_a_kernel_cell_above_a_network_cell_at_large_n():
    fit = EXPERIMENTS["fit"].cost
    base = {"target": "single-he2", "d": 20, "n": 20_000, "n_val": 1000, "n_test": 1000}
    kernel = fit(
        {**base, "learner": "kernel-ridge", "options": {"solver": "exact", "max_bytes": 2**40}}
    )
    network = fit({**base, "learner": "layerwise", "width": 512})
    assert kernel > 100 * network  # n^3 / 3 x 10 lambdas against a few passes of n m d


@pytest.mark.parametrize("name", SHIPPED_SPECS)
def test_every_shipped_smoke_spec_has_a_finite_positive_cost_per_cell(name):
    cells = expand(load_spec(spec_path(name, smoke=True)))
    costs = expected_costs(cells)
    assert costs is not None and len(costs) == len(cells)
    assert all(math.isfinite(c) and c > 0 for c in costs.values())
