"""The learner contract, run over every name in featlearn.learners.LEARNERS.

A learner registered without an entry in SMALL_CONFIGS fails ``test_every_learner_has_a_small_config``
(and every contract test for it), so a new learner cannot skip the contract.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import ConfigError
from featlearn.learners import LEARNERS, NotFittedError, make_learner

# name -> (small, fast options; whether different keys give different predictions)
SMALL_CONFIGS = {
    "layerwise": ({"width": 16}, True),
    "giant-step": ({"width": 16}, True),
    "random-features": ({"width": 16}, True),
    "full-training": ({"width": 16, "max_epochs": 20, "patience": 5}, True),
    "kernel-ridge": ({"kernel": "ntk"}, False),
    "rfm": ({"iterations": 1, "n_lambdas": 3}, False),
}
NAMES = sorted(LEARNERS)


def _config(name):
    if name not in SMALL_CONFIGS:
        pytest.fail(
            f"learner {name!r} is registered but has no entry in SMALL_CONFIGS of "
            "tests/learners/test_contract.py; add a small, fast configuration for it"
        )
    return SMALL_CONFIGS[name]


def _learner(name):
    options, _ = _config(name)
    return make_learner(name, **options)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5)).astype(np.float32)
    y = (X[:, 0] ** 2 - 1 + 0.5 * X[:, 1] + 0.1 * rng.standard_normal(200)).astype(np.float32)
    X_val = rng.standard_normal((100, 5)).astype(np.float32)
    y_val = (X_val[:, 0] ** 2 - 1 + 0.5 * X_val[:, 1]).astype(np.float32)
    return X, y, X_val, y_val


@pytest.mark.parametrize("name", NAMES)
def test_every_learner_has_a_small_config(name):
    _config(name)


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_and_predict_has_shape_and_dtype(name, data):
    X, y, X_val, y_val = data
    learner = _learner(name)
    assert learner.fit(X, y, key=jax.random.key(0), X_val=X_val, y_val=y_val) is learner
    pred = learner.predict(X_val)
    assert pred.shape == (X_val.shape[0],)
    assert pred.dtype == learner.dtype_ == jnp.dtype(learner.config.dtype)
    assert np.isfinite(np.asarray(pred)).all()
    # predictions carry information: better than the constant mean on the validation data
    mse = np.mean((np.asarray(pred) - y_val) ** 2)
    assert mse < np.var(y_val)
    assert isinstance(learner.diagnostics(), dict)


@pytest.mark.parametrize("name", NAMES)
def test_fit_without_validation_uses_a_held_out_fraction(name, data):
    X, y, X_val, _ = data
    pred = _learner(name).fit(X, y, key=jax.random.key(0)).predict(X_val)
    assert pred.shape == (X_val.shape[0],)


@pytest.mark.parametrize("name", NAMES)
def test_same_key_same_predictions_other_key_differs(name, data):
    X, y, X_val, y_val = data
    _, random = _config(name)

    def fit_predict(seed):
        learner = _learner(name).fit(X, y, key=jax.random.key(seed), X_val=X_val, y_val=y_val)
        return np.asarray(learner.predict(X_val))

    first, again, other = fit_predict(1), fit_predict(1), fit_predict(2)
    np.testing.assert_array_equal(first, again)
    if random:
        assert not np.allclose(first, other, rtol=1e-4, atol=1e-6)
    else:
        np.testing.assert_array_equal(first, other)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_are_not_mutated(name, data):
    X, y, X_val, y_val = (np.array(a, copy=True) for a in data)
    originals = [a.copy() for a in (X, y, X_val, y_val)]
    learner = _learner(name).fit(X, y, key=jax.random.key(0), X_val=X_val, y_val=y_val)
    learner.predict(X_val)
    for before, after in zip(originals, (X, y, X_val, y_val), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("name", NAMES)
def test_predict_and_diagnostics_before_fit_raise_not_fitted(name, data):
    learner = _learner(name)
    with pytest.raises(NotFittedError, match="not fitted"):
        learner.predict(data[0])
    with pytest.raises(NotFittedError, match="not fitted"):
        learner.diagnostics()


@pytest.fixture(scope="module")
def fitted(data):
    """name -> learner fitted once on ``data`` (cached across the tests of this module)."""
    X, y, X_val, y_val = data
    cache = {}

    def get(name):
        if name not in cache:
            learner = _learner(name)
            cache[name] = learner.fit(X, y, key=jax.random.key(0), X_val=X_val, y_val=y_val)
        return cache[name]

    return get


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(10, 4), (10, 6), (5,), (2, 5, 1)])
def test_predict_with_a_bad_shape_raises_config_error(name, shape, fitted):
    learner = fitted(name)
    with pytest.raises(ConfigError, match=r"X must have shape \(n, d = 5\)"):
        learner.predict(np.zeros(shape, np.float32))


@pytest.mark.parametrize("name", NAMES)
def test_nan_in_predict_input_raises_config_error_naming_x(name, fitted):
    learner = fitted(name)
    X = np.zeros((4, 5), np.float32)
    X[2, 3] = np.nan
    with pytest.raises(ConfigError, match=r"^X must be finite"):
        learner.predict(X)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("which", ["X", "y", "X_val", "y_val"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_fit_inputs_raises_config_error_naming_the_array(name, which, bad, data):
    arrays = dict(zip(("X", "y", "X_val", "y_val"), (np.array(a) for a in data), strict=True))
    arrays[which].flat[7] = bad
    # validation arrays are checked under the names X and y of the pair they form
    label = which.removesuffix("_val")
    with pytest.raises(ConfigError, match=rf"^{label} must be finite"):
        _learner(name).fit(
            arrays["X"],
            arrays["y"],
            key=jax.random.key(0),
            X_val=arrays["X_val"],
            y_val=arrays["y_val"],
        )


@pytest.mark.parametrize("name", NAMES)
def test_y_of_the_wrong_length_raises_config_error(name, data):
    X, y, _, _ = data
    with pytest.raises(ConfigError, match=r"y must have shape \(n,\)"):
        _learner(name).fit(X, y[:-1], key=jax.random.key(0))


@pytest.mark.parametrize("name", NAMES)
def test_unknown_option_is_a_config_error_naming_it(name):
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['no_such_option'\]"):
        make_learner(name, no_such_option=1)


@pytest.mark.parametrize("name", NAMES)
def test_get_params_round_trips_through_set_params(name):
    learner = _learner(name)
    params = learner.get_params()
    clone = make_learner(name, **params)
    assert clone.get_params() == params
    assert learner.set_params(**params) is learner
