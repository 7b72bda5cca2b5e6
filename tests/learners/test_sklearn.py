"""The scikit-learn wrappers: sklearn's own estimator checks, integration, and life without sklearn."""

import ast
import dataclasses
import inspect
import pickle
import subprocess
import sys
import warnings
from typing import get_type_hints

import jax
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks as ec

import featlearn.learners.sklearn as fsk
from featlearn import ConfigError
from featlearn.learners import LEARNERS, NotFittedError, make_learner
from featlearn.learners.sklearn import FeatlearnRegressor, regressor_class

# name -> tiny options for sklearn's checks; float64 because the checks compare predictions of
# permuted or sliced data at rtol 1e-7, below float32 rounding (~1e-6 on a GEMM row) -- with the
# default float32 the order/subset-invariance checks fail by that rounding only.
TINY = {
    "layerwise": {"width": 8},
    "giant-step": {"width": 8},
    "random-features": {"width": 8},
    "full-training": {"width": 8, "max_epochs": 20, "patience": 5},
    "kernel-ridge": {"kernel": "ntk"},
    "rfm": {"iterations": 1},
}
NAMES = sorted(LEARNERS)

# Checks every named estimator is expected to fail, with the reason. None at present.
EXPECTED_FAILED: dict[str, dict[str, str]] = {name: {} for name in NAMES}
# The generic FeatlearnRegressor takes the learner's options as **options by design (so one class
# serves any learner): they are stored in one attribute, which sklearn's init check flags.
GENERIC_EXPECTED_FAILED = {
    "check_no_attributes_set_in_init": "options arrive as **options and are stored in `options`",
}

# A fast subset of sklearn's checks for the default suite (the full run is marked slow). Input
# validation lives in the wrapper, the same code for every learner, so the checks that fit only to
# probe it run on one learner; the checks of parameters, fitting quality and pickling run on all.
FAST_CHECKS_ALL = [
    ec.check_estimator_cloneable,
    ec.check_estimator_repr,
    ec.check_no_attributes_set_in_init,
    ec.check_parameters_default_constructible,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_estimators_unfitted,
    ec.check_complex_data,
    ec.check_estimators_empty_data_messages,
    ec.check_fit1d,
    ec.check_requires_y_none,
    ec.check_estimator_sparse_matrix,
    ec.check_estimators_pickle,
    ec.check_regressors_train,
]
FAST_CHECKS_ONE = [
    ec.check_estimators_nan_inf,
    ec.check_n_features_in_after_fitting,
    ec.check_fit2d_predict1d,
    ec.check_supervised_y_2d,
    ec.check_estimators_dtypes,
    ec.check_dtype_object,
    ec.check_fit_idempotent,
]
FAST_CASES = [(name, check) for name in NAMES for check in FAST_CHECKS_ALL] + [
    ("random-features", check) for check in FAST_CHECKS_ONE
]


def _tiny(name):
    if name not in TINY:
        pytest.fail(f"learner {name!r} has no tiny configuration in TINY of {__file__}")
    return regressor_class(name)(dtype="float64", **TINY[name])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 4))
    y = X[:, 0] ** 2 + 0.5 * X[:, 1] + 0.1 * rng.standard_normal(150)
    return X, y


@pytest.mark.parametrize(
    "name, check", FAST_CASES, ids=[f"{n}-{c.__name__}" for n, c in FAST_CASES]
)
def test_fast_sklearn_checks(name, check):
    est = _tiny(name)
    if check.__name__ in EXPECTED_FAILED[name]:
        pytest.xfail(EXPECTED_FAILED[name][check.__name__])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(type(est).__name__, est)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_all_sklearn_checks(name):
    """Every applicable check of sklearn.utils.estimator_checks (10-110 s per learner on 2 busy cores)."""
    est = _tiny(name)
    results = ec.check_estimator(est, on_fail=None, expected_failed_checks=EXPECTED_FAILED[name])
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed
    assert len(results) > 40


@pytest.mark.slow
def test_all_sklearn_checks_on_the_generic_regressor():
    est = FeatlearnRegressor("random-features", width=8, dtype="float64")
    results = ec.check_estimator(est, on_fail=None, expected_failed_checks=GENERIC_EXPECTED_FAILED)
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed == set(GENERIC_EXPECTED_FAILED)


def test_generic_regressor_fails_exactly_the_listed_init_check():
    est = FeatlearnRegressor("random-features", width=8, dtype="float64")
    ec.check_get_params_invariance("FeatlearnRegressor", est)
    ec.check_set_params("FeatlearnRegressor", est)
    with pytest.raises(AssertionError, match=r"Found attributes \['options'\]"):
        ec.check_no_attributes_set_in_init("FeatlearnRegressor", est)


@pytest.mark.parametrize("name", NAMES)
def test_named_class_signature_lists_every_option(name):
    cls = regressor_class(name)
    assert getattr(fsk, cls.__name__) is cls
    assert cls.__name__ in fsk.__all__
    params = inspect.signature(cls).parameters
    config_fields = dataclasses.fields(LEARNERS[name].Config)
    assert list(params) == ["random_state", *(f.name for f in config_fields)]
    est = cls()
    defaults = {f.name: f.default for f in config_fields}
    assert est.get_params() == {"random_state": 0, **defaults}


def _source_classes():
    """ClassDef nodes of featlearn/learners/sklearn.py: what an IDE or a type checker reads."""
    tree = ast.parse(inspect.getsource(fsk))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


@pytest.mark.parametrize("name", NAMES)
def test_named_class_is_written_out_in_the_source_with_the_config_fields(name):
    """The class is a plain class statement whose __init__ spells every config field out, with
    the config's annotation and default, so static tools see what get_params returns."""
    cls = regressor_class(name)
    node = _source_classes().get(cls.__name__)
    assert node is not None, f"{cls.__name__} is not a class statement in {fsk.__file__}"
    init = next(f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
    assert [a.arg for a in init.args.kwonlyargs] == list(inspect.signature(cls).parameters)
    assert (
        cls.__module__ == fsk.__name__ and cls.__init__.__qualname__ == f"{cls.__name__}.__init__"
    )
    config = LEARNERS[name].Config
    hints, config_hints = get_type_hints(cls.__init__), get_type_hints(config)
    for f in dataclasses.fields(config):
        assert hints[f.name] == config_hints[f.name], f.name
        assert inspect.signature(cls).parameters[f.name].default == f.default, f.name
    assert cls.__doc__ and config.__name__ in cls.__doc__


def test_every_named_class_is_registered_and_exported():
    written = {n for n in _source_classes() if n.endswith("Regressor")}
    assert written == {regressor_class(name).__name__ for name in NAMES}
    assert written <= set(fsk.__all__)


def test_learner_without_named_class_points_to_the_generic_regressor(data, monkeypatch):
    X, y = data
    monkeypatch.setitem(LEARNERS, "my-rf", LEARNERS["random-features"])
    with pytest.raises(
        ConfigError, match=r"'my-rf' has no named estimator class.*FeatlearnRegressor"
    ):
        regressor_class("my-rf")
    generic = FeatlearnRegressor("my-rf", width=8, dtype="float64").fit(X, y)
    named = regressor_class("random-features")(width=8, dtype="float64").fit(X, y)
    np.testing.assert_array_equal(generic.predict(X), named.predict(X))


@pytest.mark.parametrize("name", NAMES)
def test_wrapper_predicts_as_the_learner_with_key_from_random_state(name, data):
    X, y = data
    est = _tiny(name).set_params(random_state=5).fit(X, y)
    options = {k: v for k, v in est.get_params().items() if k != "random_state"}
    learner = make_learner(name, **options).fit(X, y, key=jax.random.key(5))
    np.testing.assert_array_equal(est.predict(X), np.asarray(learner.predict(X)))
    assert est.n_features_in_ == 4
    assert est.diagnostics().keys() == learner.diagnostics().keys()


def test_validation_set_is_passed_to_the_learner(data):
    X, y = data
    Xv, yv = X[:50] + 0.1, y[:50]
    est = _tiny("random-features").fit(X, y, X_val=Xv, y_val=yv)
    learner = make_learner("random-features", width=8, dtype="float64")
    learner.fit(X, y, key=jax.random.key(0), X_val=Xv, y_val=yv)
    np.testing.assert_array_equal(est.predict(X), np.asarray(learner.predict(X)))
    with pytest.raises(ConfigError, match="X_val and y_val must be given together"):
        est.fit(X, y, X_val=Xv)
    with pytest.raises(ConfigError, match="X has 3 features"):
        est.fit(X, y, X_val=Xv[:, :3], y_val=yv)


def test_generic_regressor_params_clone_and_equivalence(data):
    X, y = data
    est = FeatlearnRegressor("random-features", random_state=3, width=8, dtype="float64")
    assert est.get_params() == {
        "learner": "random-features",
        "random_state": 3,
        "width": 8,
        "dtype": "float64",
    }
    twin = clone(est).set_params(width=12)
    assert est.get_params()["width"] == 8 and twin.get_params()["width"] == 12
    named = regressor_class("random-features")(random_state=3, width=8, dtype="float64")
    np.testing.assert_array_equal(est.fit(X, y).predict(X), named.fit(X, y).predict(X))
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['widht'\]"):
        est.set_params(widht=3)
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['widht'\]"):
        named.set_params(widht=3)
    with pytest.raises(ConfigError, match="learner must be one of"):
        FeatlearnRegressor("no-such-learner").fit(X, y)


def test_grid_search_in_a_pipeline_picks_the_better_width(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), regressor_class("random-features")(dtype="float64"))
    grid = {"randomfeaturesregressor__width": [2, 64]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert search.best_params_ == {"randomfeaturesregressor__width": 64}
    assert search.score(X, y) > 0.5


def test_score_is_r2_with_sample_weight(data):
    X, y = data
    est = _tiny("random-features").fit(X, y)
    w = np.random.default_rng(1).uniform(size=y.shape)
    pred = est.predict(X)
    assert est.score(X, y) == pytest.approx(r2_score(y, pred), rel=1e-12)
    assert est.score(X, y, sample_weight=w) == pytest.approx(
        r2_score(y, pred, sample_weight=w), rel=1e-12
    )


def test_random_state_kinds(data):
    X, y = data

    def pred(rs):
        return regressor_class("random-features")(width=8, random_state=rs).fit(X, y).predict(X)

    np.testing.assert_array_equal(pred(7), pred(jax.random.key(7)))
    np.testing.assert_array_equal(pred(np.random.RandomState(1)), pred(np.random.RandomState(1)))
    np.testing.assert_array_equal(pred(np.random.default_rng(1)), pred(np.random.default_rng(1)))
    assert not np.allclose(pred(None), pred(None))  # fresh OS entropy each fit
    with pytest.raises(ConfigError, match="random_state must be"):
        pred("seed")


def test_errors_name_the_input(data):
    X, y = data
    est = _tiny("random-features")
    with pytest.raises(NotFittedError, match="RandomFeaturesRegressor is not fitted"):
        est.predict(X)
    with pytest.raises(ConfigError, match="X and y must have the same number of samples"):
        est.fit(X, y[:-1])
    with pytest.raises(ConfigError, match="n_samples = 1"):
        est.fit(X[:1], y[:1])
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ConfigError, match="Input X contains NaN or inf"):
        est.fit(Xn, y)
    with pytest.raises(ConfigError, match="Input y contains NaN or inf"):
        est.fit(X, np.where(np.arange(y.size) == 2, np.inf, y))
    with pytest.raises(TypeError, match="X must hold numbers"):
        est.fit(np.array([["a"] * 4] * 10, dtype=object), y[:10])
    with pytest.raises(ConfigError, match="width must be even"):
        est.set_params(width=3).fit(X, y)


def test_fitted_estimator_pickles_and_predicts_the_same(data):
    X, y = data
    est = _tiny("full-training").fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    assert again.learner_.activation_ is est.learner_.activation_  # registered: pickled by name


_WITHOUT_SKLEARN = """
import pickle, sys
sys.modules["sklearn"] = None  # any `import sklearn...` now raises ImportError
import jax, numpy as np
from featlearn.learners.sklearn import FeatlearnRegressor, regressor_class
rng = np.random.default_rng(0)
X = rng.standard_normal((80, 3)); y = X[:, 0] ** 2
est = regressor_class("random-features")(width=8, random_state=1)
assert est.get_params()["width"] == 8
est.set_params(width=32)
assert est.fit(X, y) is est
assert est.predict(X).shape == (80,)
assert 0.5 < est.score(X, y) <= 1.0
assert "RandomFeaturesRegressor(random_state=1, width=32" in repr(est)
again = pickle.loads(pickle.dumps(est))
assert (again.predict(X) == est.predict(X)).all()
gen = FeatlearnRegressor("layerwise", width=8)
assert gen.get_params() == {"learner": "layerwise", "random_state": 0, "width": 8}
assert not any(m.startswith("sklearn") and sys.modules[m] is not None for m in sys.modules)
print("ok")
"""


def test_module_works_without_sklearn():
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SKLEARN], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
