import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import ConfigError, NumericalError
from featlearn.learners import FullTrainingLearner, make_learner
from featlearn.metrics import excess_risk
from featlearn.networks import init_symmetric
from featlearn.targets import make_target


def _reference_loss(W, b, a, X, r):
    """mean_i (sum_j a_j relu(w_j.x_i + b_j) - r_i)^2, written independently of the learner."""
    return jnp.mean((jnp.maximum(X @ W.T + b, 0.0) @ a - r) ** 2)


@pytest.fixture(scope="module")
def data():
    t = make_target("single-he2", 5, key=jax.random.key(0))
    X, y = t.sample(256, key=jax.random.key(1), noise=0.1, dtype=jnp.float64)
    Xv, yv = t.sample(128, key=jax.random.key(2), noise=0.1, dtype=jnp.float64)
    return np.asarray(X), np.asarray(y), np.asarray(Xv), np.asarray(yv)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_one_full_batch_step_matches_a_hand_computed_step(data, optimizer):
    """After one full-batch step: SGD moves by -lr (grad + wd theta); Adam's first step by
    -lr (g / (|g| + eps) + wd theta), since its bias-corrected moments are g and g^2."""
    X, y, Xv, yv = data
    lr, wd, m = 0.01, 0.1, 8
    opts = dict(width=m, optimizer=optimizer, learning_rate=lr, weight_decay=wd)
    ft = make_learner("full-training", batch_size=None, max_epochs=1, dtype="float64", **opts)
    ft.fit(X, y, key=jax.random.key(5), X_val=Xv, y_val=yv)
    p0 = init_symmetric(
        m, X.shape[1], key=jax.random.split(jax.random.key(5))[0], dtype=jnp.float64
    )
    alpha, beta = y.mean(), (y[:, None] * X).mean(0)
    r = jnp.asarray(y - alpha - X @ beta)
    grads = jax.grad(_reference_loss, argnums=(0, 1, 2))(p0.W, p0.b, p0.a, jnp.asarray(X), r)
    diag = ft.diagnostics()
    for got, g, p0_ in zip(
        (diag["W"], diag["b"], diag["a"]), grads, (p0.W, p0.b, p0.a), strict=True
    ):
        u = g if optimizer == "sgd" else g / (jnp.abs(g) + 1e-8)
        np.testing.assert_allclose(got, p0_ - lr * (u + wd * p0_), rtol=1e-7, atol=1e-9)
    assert diag["steps"] == 1 and diag["epochs"] == 1


def test_loss_decreases_and_early_stopping_restores_the_best_parameters(data):
    X, y, Xv, yv = data
    # a wide net with a large step on 256 points overfits: validation loss rises after its minimum
    ft = make_learner(
        "full-training", width=64, learning_rate=0.01, batch_size=32, patience=5,
        max_epochs=400, dtype="float64",
    )  # fmt: skip
    ft.fit(X, y, key=jax.random.key(1), X_val=Xv, y_val=yv)
    diag = ft.diagnostics()
    hist = diag["val_history"]
    initial = np.mean((yv - y.mean() - Xv @ (y[:, None] * X).mean(0)) ** 2)  # f = 0 at init
    assert diag["best_val_loss"] < 0.5 * initial
    assert diag["best_val_loss"] == pytest.approx(hist.min(), rel=1e-12)
    # stopped early: patience checks after the best one, and the last check was worse
    assert diag["epochs"] < 400
    assert diag["epochs"] - diag["best_epoch"] == 5
    assert hist[-1] > diag["best_val_loss"]
    # the returned parameters are the best ones: their validation loss is the recorded best
    val_loss = np.mean((np.asarray(ft.predict(Xv)) - yv) ** 2)
    assert val_loss == pytest.approx(diag["best_val_loss"], rel=1e-9)
    assert diag["lambda"] is None and diag["weight_decay"] == 0.0


def test_learns_single_he2_at_d10():
    t = make_target("single-he2", 10, key=jax.random.key(0))
    X, y = t.sample(3000, key=jax.random.key(1))
    ft = make_learner("full-training", width=100, batch_size=64)  # held-out validation fraction
    ft.fit(X, y, key=jax.random.key(2))
    risk = excess_risk(ft.predict, t, key=jax.random.key(3), n_test=4000)
    # measured ~0.09 (n = 2000, val 1000); random features at this n, width are ~0.6
    assert risk.relative_risk < 0.3


def test_divergence_is_reported_as_a_numerical_error(data):
    X, y, Xv, yv = data
    ft = make_learner("full-training", width=8, optimizer="sgd", learning_rate=1e4, dtype="float64")
    with pytest.raises(NumericalError, match="full training: validation loss is"):
        ft.fit(X, y, key=jax.random.key(0), X_val=Xv, y_val=yv)


def test_default_learning_rate_scales_with_width():
    assert FullTrainingLearner(width=1000).config.lr == pytest.approx(1e-4)
    assert FullTrainingLearner(width=100, optimizer="sgd").config.lr == pytest.approx(5e-3)
    assert FullTrainingLearner(width=100, learning_rate=0.3).config.lr == 0.3


@pytest.mark.parametrize(
    "options, match",
    [
        ({"optimizer": "rmsprop"}, "optimizer must be 'adam' or 'sgd'"),
        ({"width": 5}, "width must be even"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"weight_decay": -1.0}, "weight_decay must be >= 0"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"max_epochs": 0}, "max_epochs must be an integer >= 1"),
        ({"patience": 0}, "patience must be an integer >= 1"),
        ({"eval_every": 1.5}, "eval_every must be an integer"),
        ({"val_fraction": 0.0}, "val_fraction must be > 0"),
        ({"momentum": 0.9}, r"unknown option\(s\) \['momentum'\]"),
    ],
)
def test_bad_options_name_the_parameter(options, match):
    with pytest.raises(ConfigError, match=match):
        FullTrainingLearner(**options)
