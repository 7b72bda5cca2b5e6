"""The kernel-ridge learner: the degree staircase on dls-r2p3, scikit-learn's KernelRidge as a
reference, exact vs Nyström, the oracle, lambda selection and bad inputs."""

import jax
import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge

from featlearn import ConfigError
from featlearn.experiments._fit import run_fit
from featlearn.learners import KernelRidgeLearner, NotFittedError, make_learner
from featlearn.targets import make_target


def _fit_record(n, **options):
    cfg = {
        "learner": "kernel-ridge",
        "target": "dls-r2p3",
        "d": 24,
        "n": n,
        "n_val": 1000,
        "n_test": 4000,
        # a short lambda grid keeps the test fast; noiseless targets pick its low end anyway
        "options": {
            "kernel": "ntk",
            "lambda_min": 1e-8,
            "lambda_max": 1e-2,
            "n_lambdas": 4,
            **options,
        },
    }
    return run_fit(cfg, seed=0)


def test_ntk_staircase_on_dls_r2p3():
    """d = 24: degree 2 has ~d^2/2 = 300 harmonics, degree 3 ~d^3/6 = 2300. With n = 2500 between
    them (and d^2 = 576 < n < d^3 = 13824) the NTK learns the degree-2 half of the energy but not
    the degree-3 half: relative risk near energy_above(2) = 0.5; with n = 200 < d^2 it has learned
    neither (risk ~ 1)."""
    target = make_target("dls-r2p3", 24, key=jax.random.key(0))
    assert target.moments.energy_above(2) == pytest.approx(0.5)
    mid = _fit_record(2500, solver="exact")
    assert 0.3 < mid["relative_risk"] < 0.75, mid
    low = _fit_record(200, solver="exact")
    assert low["relative_risk"] > 0.85, low
    # knowing U makes it an r = 2 problem: the degree-3 part is learned too (the error left is
    # dominated by a few far-out test points, where a cubic grows fastest)
    oracle = _fit_record(1000, solver="exact", oracle=True)
    assert oracle["relative_risk"] < 0.25, oracle


def _regression(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X[:, 0] * X[:, 1] + 0.5 * X[:, 2] ** 2 + 0.1 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("kernel,options,sk", [
    ("poly", {"q": 3}, {"kernel": "poly", "degree": 3, "gamma": 1 / 5, "coef0": 1}),
    ("rbf", {"bandwidth": 1.5}, {"kernel": "rbf", "gamma": 1 / (2 * 1.5**2 * 5)}),
])  # fmt: skip
def test_exact_solver_equals_sklearn_kernel_ridge(kernel, options, sk):
    X, y = _regression()
    Xv, yv = _regression(100, seed=1)
    Xt, _ = _regression(50, seed=2)
    learner = make_learner("kernel-ridge", kernel=kernel, solver="exact", **options)
    learner.fit(X, y, key=jax.random.key(0), X_val=Xv, y_val=yv)
    lam = learner.diagnostics()["lambda"]
    ref = KernelRidge(alpha=len(y) * lam, **sk).fit(X, y - y.mean())
    np.testing.assert_allclose(learner.predict(Xt), ref.predict(Xt) + y.mean(), rtol=1e-8)
    assert learner.diagnostics()["solver"] == "exact"


def test_nystrom_with_all_centres_equals_exact_and_auto_switches():
    X, y = _regression()
    Xv, yv = _regression(100, seed=1)
    Xt, _ = _regression(50, seed=2)
    fits = {}
    for solver, extra in [("exact", {}), ("nystrom", {"centers": len(y), "cg_tol": 1e-12})]:
        lr = make_learner("kernel-ridge", kernel="ntk", solver=solver, n_lambdas=4, **extra)
        fits[solver] = lr.fit(X, y, key=jax.random.key(3), X_val=Xv, y_val=yv)
    ex, ny = fits["exact"], fits["nystrom"]
    assert ex.diagnostics()["lambda"] == pytest.approx(ny.diagnostics()["lambda"], rel=1e-12)
    np.testing.assert_allclose(
        ny.diagnostics()["validation_mse"], ex.diagnostics()["validation_mse"], rtol=1e-6
    )
    np.testing.assert_allclose(ny.predict(Xt), ex.predict(Xt), rtol=1e-7, atol=1e-8)
    small = make_learner("kernel-ridge", kernel="ntk", max_bytes=2**25, centers=100)
    assert (
        small.fit(X, y, key=jax.random.key(3), X_val=Xv, y_val=yv).diagnostics()["solver"]
        == "nystrom"
    )


def test_nystrom_is_keyed_and_chooses_lambda_on_a_held_out_fraction():
    X, y = _regression(400)
    make = lambda: make_learner(  # noqa: E731
        "kernel-ridge", kernel="rbf", solver="nystrom", centers=80, n_lambdas=5
    )
    a, b, c = (make().fit(X, y, key=jax.random.key(k)) for k in (0, 0, 1))
    np.testing.assert_array_equal(a.predict(X[:20]), b.predict(X[:20]))
    assert not np.array_equal(a.predict(X[:20]), c.predict(X[:20]))
    diag = a.diagnostics()
    assert diag["lambda"] in diag["lambdas"] and len(diag["validation_mse"]) == 5
    assert np.argmin(diag["validation_mse"]) == list(diag["lambdas"]).index(diag["lambda"])
    resid = np.mean((np.asarray(a.predict(X)) - y) ** 2) / np.var(y)
    assert resid < 0.5  # it fits something: the target is learnable at n = 400, d = 5


def test_oracle_needs_a_projection():
    X, y = _regression(100)
    with pytest.raises(ConfigError, match="projection=U"):
        make_learner("kernel-ridge", oracle=True).fit(X, y, key=jax.random.key(0))
    lr = make_learner("kernel-ridge", oracle=True)
    with pytest.raises(ConfigError, match="orthonormal"):
        lr.fit(X, y, key=jax.random.key(0), projection=2 * np.eye(2, 5))
    with pytest.raises(ConfigError, match="d = 5 columns"):
        lr.fit(X, y, key=jax.random.key(0), projection=np.eye(2, 6))


@pytest.mark.parametrize("options,match", [
    ({"kernel": "laplace"}, "kernel must be one of"),
    ({"kernel": "poly", "q": 0}, "q must be an integer >= 1; got 0"),
    ({"kernel": "rbf", "bandwidth": 0.0}, "bandwidth must be > 0"),
    ({"kernel": "rbf", "bandwidth": -2.0}, "bandwidth must be > 0"),
    ({"solver": "cholesky"}, "solver must be one of"),
    ({"centers": 0}, "centers must be an integer >= 1"),
    ({"max_bytes": 0}, "max_bytes must be an integer >= 1"),
    ({"activation": "gelu"}, "activation must be one of"),
    ({"wrong": 1}, "unknown option"),
])  # fmt: skip
def test_bad_options_name_the_parameter(options, match):
    with pytest.raises(ConfigError, match=match):
        make_learner("kernel-ridge", **options)


def test_bad_sizes_name_the_parameter():
    X, y = _regression(100)
    key = jax.random.key(0)
    with pytest.raises(ConfigError, match=r"centers must be <= n \(= 80\); got 500"):
        make_learner("kernel-ridge", solver="nystrom", centers=500).fit(X, y, key=key)
    with pytest.raises(ConfigError, match="max_bytes must be >= .* for the exact solve"):
        make_learner("kernel-ridge", solver="exact", max_bytes=10**6).fit(X, y, key=key)
    with pytest.raises(ConfigError, match="max_bytes must be >= .* for Nyström"):
        make_learner("kernel-ridge", solver="nystrom", centers=50, max_bytes=10**4).fit(
            X, y, key=key
        )
    with pytest.raises(NotFittedError):
        KernelRidgeLearner().predict(X)


def test_pcg_solver_equals_exact_and_auto_takes_it_from_the_crossover(monkeypatch):
    from featlearn._configs import _kernels  # the auto rule lives in the learner's config

    X, y = _regression(300)
    Xv, yv = _regression(100, seed=1)
    Xt, _ = _regression(50, seed=2)
    fits = {}
    for solver in ("exact", "pcg"):
        lr = make_learner("kernel-ridge", kernel="ntk", solver=solver, n_lambdas=4)
        fits[solver] = lr.fit(X, y, key=jax.random.key(3), X_val=Xv, y_val=yv)
    ex, pc = fits["exact"].diagnostics(), fits["pcg"].diagnostics()
    assert pc["solver"] == "pcg" and pc["lambda"] == pytest.approx(ex["lambda"], rel=1e-8)
    np.testing.assert_allclose(pc["validation_mse"], ex["validation_mse"], rtol=1e-8)
    want = np.asarray(fits["exact"].predict(Xt))
    got = np.asarray(fits["pcg"].predict(Xt))
    assert np.abs(got - want).max() < 1e-6 * np.abs(want).max()
    monkeypatch.setattr(_kernels, "PCG_MIN_N", 100)
    auto = make_learner("kernel-ridge", kernel="ntk", n_lambdas=2, rank=30)
    diag = auto.fit(X, y, key=jax.random.key(3), X_val=Xv, y_val=yv).diagnostics()
    assert diag["solver"] == "pcg" and diag["rank"] == 30


def test_pcg_bad_options_and_budget_name_the_field():
    X, y = _regression(100)
    with pytest.raises(ConfigError, match="rank must be an integer >= 1; got 0"):
        make_learner("kernel-ridge", solver="pcg", rank=0)
    with pytest.raises(ConfigError, match="max_bytes must be >= .* for the pcg solve at n = 80"):
        make_learner("kernel-ridge", solver="pcg", max_bytes=10**6).fit(X, y, key=jax.random.key(0))
