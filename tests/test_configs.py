"""Learner configurations checked once, without JAX (issue 9): the JAX-free lists agree with the
registries they stand for, the boundary refuses exactly what a fit would refuse, and each
check has one definition."""

import jax
import numpy as np
import pytest

import featlearn._memory as memory
from featlearn import solvers
from featlearn._configs import (
    ACTIVATION_NAMES,
    DTYPE_NAMES,
    KERNEL_NAMES,
    LEARNER_CONFIGS,
    holdout_sizes,
    learner_config,
    validate_fit_config,
    validate_transfer_config,
)
from featlearn._errors import ConfigError
from featlearn.kernels import DEFAULT_BLOCK_BYTES, KERNELS
from featlearn.learners import LEARNERS, make_learner
from featlearn.learners._base import DTYPES
from featlearn.learners._steps import split_validation
from featlearn.networks import ACTIVATIONS
from featlearn.targets import ArrayStream


def test_the_jax_free_names_are_the_registries():
    assert list(ACTIVATION_NAMES) == sorted(ACTIVATIONS)
    assert list(KERNEL_NAMES) == sorted(KERNELS)
    assert list(DTYPE_NAMES) == list(DTYPES)
    assert {n: (cls.Config, cls.is_network) for n, cls in LEARNERS.items()} == LEARNER_CONFIGS
    # the solvers size their work with the very functions the configs check budgets with
    assert solvers.pcg_memory is memory.pcg_memory
    assert solvers.nystrom_memory is memory.nystrom_memory
    assert DEFAULT_BLOCK_BYTES == memory.DEFAULT_BLOCK_BYTES == 2**28


def _data(n, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X[:, 0] ** 2 - 1


@pytest.mark.parametrize("slack", [-1, 0])
def test_the_boundary_refuses_the_exact_budget_exactly_when_the_fit_does(slack):
    n = 100  # holdout: 80 train, 20 validation; the exact solve holds 12 n^2 + 8 n_val n + a block
    need = 12 * 80**2 + 8 * 20 * 80 + DEFAULT_BLOCK_BYTES
    options = {"kernel": "rbf", "solver": "exact", "max_bytes": need + slack, "n_lambdas": 3}
    config = {"learner": "kernel-ridge", "n": n, "validation": "holdout", "options": options}
    X, y = _data(n)
    fit = lambda: make_learner("kernel-ridge", **options).fit(X, y, key=jax.random.key(0))  # noqa: E731
    if slack < 0:
        with pytest.raises(ConfigError, match=f"max_bytes must be >= {need} bytes"):
            validate_fit_config(config)
        with pytest.raises(ConfigError, match=f"max_bytes must be >= {need} bytes"):
            fit()
    else:
        validate_fit_config(config)
        assert fit().diagnostics()["solver"] == "exact"


def test_nystrom_centres_are_compared_with_the_samples_the_fit_trains_on():
    """With a holdout, 90 centres exceed the 80 training rows of n = 100: refused when the spec
    is read, as the fit would refuse it (it used to pass the boundary, compared with n)."""
    opts = {"solver": "nystrom", "centers": 90}
    with pytest.raises(ConfigError, match=r"centers must be <= n \(= 80\); got 90"):
        validate_fit_config({"learner": "kernel-ridge", "n": 100, "validation": "holdout",
                             "options": opts})  # fmt: skip
    validate_fit_config({"learner": "kernel-ridge", "n": 100, "n_val": 50, "options": opts})
    X, y = _data(100)
    with pytest.raises(ConfigError, match=r"centers must be <= n \(= 80\); got 90"):
        make_learner("kernel-ridge", **opts).fit(X, y, key=jax.random.key(0))


def test_the_pcg_budget_is_refused_when_the_spec_is_read():
    opts = {"solver": "pcg", "max_bytes": 10**6}
    with pytest.raises(ConfigError, match="max_bytes must be >= .* for the pcg solve at n = 100"):
        validate_fit_config({"learner": "kernel-ridge", "n": 100, "options": opts})


@pytest.mark.parametrize("n,fraction", [(10, 0.3), (101, 0.2), (7, 0.9), (1000, 0.05)])
def test_holdout_sizes_are_the_rows_split_validation_holds_out(n, fraction):
    X, y = _data(n)
    train, (X_val, _) = split_validation(ArrayStream(X, y), None, fraction)
    want = int(round(n * (1 - fraction)))  # the first round(n (1 - f)) rows train
    assert holdout_sizes(n, fraction) == (train.n, X_val.shape[0]) == (want, n - want)


def test_val_fraction_has_one_range_and_the_holdout_one_emptiness_check():
    with pytest.raises(ConfigError, match="val_fraction must be <= 0.9; got 0.95"):
        learner_config("layerwise", {"val_fraction": 0.95})
    with pytest.raises(ConfigError, match="leaves no training or no validation sample of n = 1"):
        validate_fit_config({"n": 1, "validation": "holdout"})
    validate_fit_config({"n": 1})  # fresh validation: nothing is held out


def test_giant_step_takes_any_width_and_symmetric_learners_an_even_one():
    assert learner_config("giant-step", {"width": 7}).width == 7
    X, y = _data(60)
    gs = make_learner("giant-step", width=7, dtype="float64").fit(X, y, key=jax.random.key(0))
    assert gs.diagnostics()["W"].shape == (7, 4)
    for name in ("layerwise", "random-features", "full-training"):
        with pytest.raises(ConfigError, match="width must be even with symmetric initialisation"):
            learner_config(name, {"width": 7})


def test_transfer_checks_every_learner_it_will_fit():
    with pytest.raises(ConfigError, match="learner 'layerwise': .*width must be even"):
        validate_transfer_config({"width": 33})
    opts = {"kernel-ridge": {"solver": "nystrom", "centers": 2000}}
    with pytest.raises(
        ConfigError, match=r"learner 'kernel-ridge': centers must be <= n \(= 1000\)"
    ):
        validate_transfer_config({"n_target": 1000, "options": opts})
