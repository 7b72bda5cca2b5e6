"""Recursive Feature Machines: AGOP against closed-form kernel gradients, the kernel ridge step
against kernel-ridge on M = I, and feature learning on single-he2."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import ConfigError
from featlearn.kernels import RBF
from featlearn.learners import RFMLearner, make_learner
from featlearn.learners._rfm import Laplace, _sqrt_psd, agop
from featlearn.metrics import alignment, excess_risk
from featlearn.targets import make_target


def _problem(seed=0, n=30, d=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    B = rng.standard_normal((d, d))
    M = B @ B.T / d + 0.1 * np.eye(d)
    return X, M, rng.standard_normal(n)


def _closed_form_agop(X, M, coef, grad_k):
    """(1/n) sum_i g_i g_i^T with g_i = sum_{j != i} coef_j grad_x k_M(x_i, x_j), by a slow loop."""
    n, d = X.shape
    G = np.zeros((d, d))
    for i in range(n):
        g = np.zeros(d)
        for j in range(n):
            if j != i:
                g += coef[j] * grad_k(X[i] - X[j])
        G += np.outer(g, g)
    return G / n


@pytest.mark.parametrize("kind", ["laplace", "gaussian"])
def test_agop_matches_the_closed_form_gradient_in_the_m_norm(kind):
    X, M, coef = _problem()
    L = 1.7
    S = _sqrt_psd(M)
    np.testing.assert_allclose(S @ S, M, rtol=1e-12, atol=1e-12)

    def dist(v):
        return math.sqrt(v @ M @ v)

    if kind == "laplace":  # grad_x exp(-|x - z|_M / L) = -k M (x - z) / (L |x - z|_M)
        kernel = Laplace(L)

        def grad_k(v):
            return -math.exp(-dist(v) / L) * (M @ v) / (L * dist(v))

    else:  # grad_x exp(-|x - z|_M^2 / (2 L^2)) = -k M (x - z) / L^2
        kernel = RBF(L / math.sqrt(X.shape[1]))

        def grad_k(v):
            return -math.exp(-(dist(v) ** 2) / (2 * L**2)) * (M @ v) / L**2

    Xs = X @ S
    # chain rule: grad_x f = S grad_{x~} f~; small max_bytes forces several padded blocks
    got = S @ agop(kernel, Xs, Xs, coef, exclude_self=True, max_bytes=6 * 30 * 8 * 2 * 7) @ S
    ref = _closed_form_agop(X, M, coef, grad_k)
    # float64; the kernel forms |x - z|^2 as |x|^2 + |z|^2 - 2 x.z, whose cancellation costs digits
    # (measured: 3e-10 of the largest entry)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-8 * np.abs(ref).max())


def test_kernel_ridge_step_equals_the_kernel_ridge_learner_on_the_identity_metric():
    rng = np.random.default_rng(1)
    X, X_val = rng.standard_normal((150, 5)), rng.standard_normal((60, 5))
    y, y_val = np.sin(X[:, 0]) * X[:, 1], np.sin(X_val[:, 0]) * X_val[:, 1]
    key = jax.random.key(0)
    rfm = make_learner("rfm", kernel="gaussian", bandwidth=2.0, iterations=0)
    rfm.fit(X, y, key=key, X_val=X_val, y_val=y_val)
    kr = make_learner("kernel-ridge", kernel="rbf", bandwidth=2.0 / math.sqrt(5), solver="exact")
    kr.fit(X, y, key=key, X_val=X_val, y_val=y_val)
    assert rfm.lambda_ == kr.lambda_
    np.testing.assert_allclose(rfm.predict(X_val), kr.predict(X_val), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(rfm.M_, np.eye(5))


@pytest.fixture(scope="module")
def he2():
    t = make_target("single-he2", 20, key=jax.random.key(0))
    val = t.sample(1_000, key=jax.random.key(2), dtype=jnp.float64)
    train = t.stream(1_000, key=jax.random.key(1), dtype=jnp.float64)
    return t, val, train


@pytest.mark.parametrize("rescale", ["none", "trace"])
def test_rfm_metric_aligns_with_u_on_single_he2(he2, rescale):
    """Measured at n = 1000: cos^2 = 1.000 and relative risk 0.004 (none) / 0.006 (trace); the
    layer-wise network reaches alignment 0.9 only near n = 16000 at d = 20 (test_layerwise)."""
    t, val, train = he2
    rfm = make_learner("rfm", rescale=rescale, n_lambdas=5).fit_stream(
        train, key=jax.random.key(3), validation=val
    )
    top = rfm.top_directions(1)
    assert float(np.sum((top @ t.U.T) ** 2)) >= 0.9
    diag = rfm.diagnostics()
    M = diag["M"]
    np.testing.assert_allclose(
        alignment(diag["W"], t.U), np.trace(t.U @ M @ t.U.T) / np.trace(M), rtol=1e-10
    )
    if rescale == "trace":
        assert np.trace(M) == pytest.approx(20, rel=1e-12)
    risk = excess_risk(rfm.predict, t, key=jax.random.key(4), n_test=2_000, dtype=jnp.float64)
    assert risk.relative_risk < 0.05
    # the learned metric helps: the M = I solve (the first) validates worse than the last one
    assert rfm.history_[-1]["validation_mse"] < 0.2 * rfm.history_[0]["validation_mse"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"kernel": "cosine"},
            r"kernel must be one of \['laplace', 'gaussian', 'ntk'\]; got 'cosine'",
        ),
        ({"rescale": "max"}, r"rescale must be one of"),
        ({"iterations": -1}, r"iterations must be"),
        ({"bandwidth": 0.0}, r"bandwidth must be"),
    ],
)
def test_bad_options_name_the_parameter(options, message):
    with pytest.raises(ConfigError, match=message):
        RFMLearner(**options)


def test_too_small_memory_budget_names_max_bytes():
    X = np.random.default_rng(0).standard_normal((100, 3))
    with pytest.raises(ConfigError, match=r"max_bytes must be >= \d+ bytes for RFM's exact solve"):
        RFMLearner(max_bytes=1000).fit(X, X[:, 0], key=jax.random.key(0))


def test_ntk_base_kernel_runs_and_learns():
    t = make_target("single-he2", 8, key=jax.random.key(0))
    X, y = t.sample(400, key=jax.random.key(1), dtype=jnp.float64)
    X_val, y_val = t.sample(300, key=jax.random.key(2), dtype=jnp.float64)
    rfm = make_learner("rfm", kernel="ntk", iterations=2, n_lambdas=5)
    rfm.fit(X, y, key=jax.random.key(0), X_val=X_val, y_val=y_val)
    assert float(np.sum((rfm.top_directions(1) @ t.U.T) ** 2)) >= 0.9
