import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import ConfigError, NumericalError
from featlearn.learners import LayerwiseLearner, NotFittedError, make_learner
from featlearn.learners._steps import first_layer_gradient, linear_part
from featlearn.metrics import alignment, excess_risk
from featlearn.networks import (
    TwoLayerParams,
    forward,
    get_activation,
    init_giant_step,
    init_symmetric,
)
from featlearn.targets import ArrayStream, make_target


def _loss(params, X, r, act):
    return jnp.mean((forward(params, X, act) - r) ** 2)


@pytest.mark.parametrize("init", ["symmetric", "giant"])
def test_hand_written_gradient_matches_jax_grad(init):
    act = get_activation("relu")
    t = make_target("dls-r2p3", 9, key=jax.random.key(0))
    X, y = t.sample(700, key=jax.random.key(1), noise=0.5, dtype=jnp.float64)
    stream = ArrayStream(np.asarray(X), np.asarray(y), block=256)  # several blocks
    alpha, beta = linear_part(stream)
    maker = init_symmetric if init == "symmetric" else init_giant_step
    p = maker(16, 9, key=jax.random.key(2), dtype=jnp.float64)
    r = y - alpha - X @ beta
    expected = jax.grad(lambda W: _loss(TwoLayerParams(W, p.b, p.a), X, r, act))(p.W)
    got = first_layer_gradient(
        p.W, p.b, p.a, stream, alpha, beta, act, f_is_zero=init == "symmetric"
    )
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_preprocessing_is_mean_and_first_moment():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((900, 4)), rng.standard_normal(900) + 3
    alpha, beta = linear_part(ArrayStream(X, y, block=100))
    assert alpha == pytest.approx(y.mean())
    np.testing.assert_allclose(beta, (y[:, None] * X).mean(0), rtol=1e-12)


@pytest.fixture(scope="module")
def he2():
    t = make_target("single-he2", 20, key=jax.random.key(0))
    val = t.sample(5_000, key=jax.random.key(2))
    return t, val


def test_layerwise_learns_the_direction_of_single_he2(he2):
    t, val = he2
    train = t.stream(16_000, key=jax.random.key(1))
    lw = make_learner("layerwise", width=400).fit_stream(
        train, key=jax.random.key(3), validation=val
    )
    assert alignment(lw.W_, t.U) > 0.9
    # the automatic eta1 makes mean_j |w_j|^2 = 1
    assert float(jnp.mean(jnp.sum(lw.W_.astype(jnp.float64) ** 2, 1))) == pytest.approx(
        1.0, rel=1e-4
    )
    risk = excess_risk(lw.predict, t, key=jax.random.key(4), n_test=5_000)
    assert risk.relative_risk < 0.05


def test_determinism_under_a_key(he2):
    t, val = he2
    X, y = t.sample(2_000, key=jax.random.key(5))
    a = LayerwiseLearner(width=64).fit(X, y, key=jax.random.key(6), X_val=val[0], y_val=val[1])
    b = LayerwiseLearner(width=64).fit(X, y, key=jax.random.key(6), X_val=val[0], y_val=val[1])
    c = LayerwiseLearner(width=64).fit(X, y, key=jax.random.key(7), X_val=val[0], y_val=val[1])
    np.testing.assert_array_equal(a.predict(val[0]), b.predict(val[0]))
    assert not np.allclose(a.predict(val[0]), c.predict(val[0]))


@pytest.mark.parametrize(
    "options",
    [
        {"split": True},
        {"reinit_bias": True},
        {"head": "gd", "gd_steps": 200},
        {"dtype": "float64"},
        {"eta1": 0.5},
    ],
)
def test_options_run_and_stay_sensible(he2, options):
    t, val = he2
    dtype = jnp.float64 if options.get("dtype") == "float64" else jnp.float32
    train = t.stream(8_000, key=jax.random.key(1), dtype=dtype)
    val = tuple(jnp.asarray(v, dtype) for v in val)
    lw = make_learner("layerwise", width=128, **options).fit_stream(
        train, key=jax.random.key(3), validation=val
    )
    risk = excess_risk(lw.predict, t, key=jax.random.key(4), n_test=2_000, dtype=dtype)
    assert risk.relative_risk < 0.9  # far better than predicting zero
    if "eta1" in options:
        assert lw.eta1_ == 0.5


def test_holdout_validation_when_none_given(he2):
    t, _ = he2
    X, y = t.sample(3_000, key=jax.random.key(5))
    lw = LayerwiseLearner(width=64, val_fraction=0.25).fit(X, y, key=jax.random.key(6))
    assert lw.lambda_ > 0


def test_bad_inputs():
    with pytest.raises(ConfigError, match="width must be even"):
        LayerwiseLearner(width=33)
    with pytest.raises(ConfigError, match="unknown option"):
        LayerwiseLearner(widht=32)
    with pytest.raises(ConfigError, match="head must be"):
        LayerwiseLearner(head="lasso")
    X = np.random.default_rng(0).standard_normal((100, 5)).astype(np.float32)
    y = np.ones(100, np.float32)
    y[3] = np.nan
    with pytest.raises(ConfigError, match="y must be finite"):
        LayerwiseLearner(width=8).fit(X, y, key=jax.random.key(0))
    with pytest.raises(NotFittedError):
        LayerwiseLearner(width=8).predict(X)
    with pytest.raises(ConfigError, match="dtype"):
        LayerwiseLearner(width=8).fit(X.astype(np.float64), np.ones(100), key=jax.random.key(0))


def test_numerical_trouble_names_the_step(monkeypatch):
    X = np.random.default_rng(0).standard_normal((200, 5)).astype(np.float32)
    y = np.full(200, 1e30, np.float32)  # finite labels whose products overflow float32
    with pytest.raises(NumericalError, match="first-layer gradient|preprocessing|ridge"):
        LayerwiseLearner(width=8).fit(X, y * 1e8, key=jax.random.key(0))


def _compiled_programs(fn) -> list[str]:
    """Names of the XLA programs compiled while ``fn`` runs (JAX's compile log)."""
    import logging

    names: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record):
            msg = record.getMessage()
            if msg.startswith("Compiling "):
                names.append(msg.split(" ")[1])

    logger, handler = logging.getLogger("jax"), Grab()
    logger.addHandler(handler)
    try:
        with jax.log_compiles(True):
            fn()
    finally:
        logger.removeHandler(handler)
    return names


def test_a_layerwise_fit_compiles_one_program_per_step_whatever_n():
    """Streams hand the steps blocks of one padded shape, so a fit compiles each step once, and
    a fit on another n (same d, width) compiles nothing new. Before, every power-of-two piece of
    the last block compiled each step again (111 programs for the issue-13 fit)."""
    t = make_target("single-he2", 11, key=jax.random.key(0))
    val = t.sample(1_000, key=jax.random.key(2))
    learner = make_learner("layerwise", width=64)

    def fit(n):
        return lambda: learner.fit_stream(
            t.stream(n, key=jax.random.key(1)), key=jax.random.key(3), validation=val
        )

    first = _compiled_programs(fit(4096 * 2 + 1808))
    assert len(first) == len(set(first)), first  # no program compiled twice
    assert len(first) <= 4, first  # 3 now: init, gradient, features (Gram and validation)
    again = _compiled_programs(fit(4096 + 1000))
    assert again == [], again


def test_host_and_device_products_give_the_same_fit(monkeypatch):
    """On a CPU the preprocessing sums, the ridge head's Gram and prediction run in NumPy
    (``_steps.HOST_BLAS``); the device programs must give the same fit within float32 rounding."""
    from featlearn.learners import _steps

    t = make_target("single-he2", 9, key=jax.random.key(0))
    val = t.sample(700, key=jax.random.key(2))
    X_test = np.asarray(t.sample(9000, key=jax.random.key(4))[0])  # three prediction blocks
    fits = {}
    for host in (True, False):
        monkeypatch.setattr(_steps, "HOST_BLAS", host)
        learner = make_learner("layerwise", width=40).fit_stream(
            t.stream(3000, key=jax.random.key(1)), key=jax.random.key(3), validation=val
        )
        fits[host] = (learner.diagnostics(), np.asarray(learner.predict(X_test)))
    (d_host, p_host), (d_dev, p_dev) = fits[True], fits[False]
    assert d_host["lambda"] == pytest.approx(d_dev["lambda"], rel=1e-5)  # same grid point
    np.testing.assert_allclose(d_host["a"], d_dev["a"], rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(p_host, p_dev, rtol=2e-3, atol=2e-4)
    W, b, a = d_host["W"], d_host["b"], d_host["a"]
    learner_alpha, learner_beta = learner.alpha_, np.asarray(learner.beta_)
    ref = learner_alpha + X_test @ learner_beta + np.maximum(X_test @ W.T + b, 0) @ a
    np.testing.assert_allclose(p_host, ref, rtol=1e-4, atol=1e-4)
