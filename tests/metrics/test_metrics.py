import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import ConfigError, NumericalError
from featlearn.metrics import alignment, excess_risk, principal_angles
from featlearn.targets import make_target, random_orthonormal_rows


def test_alignment_extremes_and_closed_form():
    U = random_orthonormal_rows(2, 10, key=jax.random.key(0))
    rng = np.random.default_rng(0)
    inside = rng.standard_normal((30, 2)) @ U
    assert alignment(inside, U) == pytest.approx(1.0)
    P = np.eye(10) - U.T @ U
    outside = rng.standard_normal((30, 10)) @ P
    assert alignment(outside, U) == pytest.approx(0.0, abs=1e-12)
    mixed = inside + outside
    expected = np.sum(inside**2) / (np.sum(inside**2) + np.sum(outside**2))
    assert alignment(mixed, U) == pytest.approx(expected)


def test_principal_angles_of_a_known_rotation():
    d = 6
    U = np.eye(d)[:1]
    for theta in (0.0, 0.3, 1.2):
        w = np.cos(theta) * np.eye(d)[0] + np.sin(theta) * np.eye(d)[1]
        W = np.outer(np.linspace(1, 2, 5), w)
        np.testing.assert_allclose(principal_angles(W, U), [theta], atol=1e-7)


def test_alignment_bad_input():
    with pytest.raises(ConfigError, match="share d"):
        alignment(np.ones((3, 4)), np.ones((1, 5)))
    with pytest.raises(NumericalError, match="W is zero"):
        alignment(np.zeros((3, 4)), np.eye(4)[:1])


def test_excess_risk_of_exact_and_zero_predictors():
    t = make_target("dls-r2p3", 8, key=jax.random.key(0))
    exact = excess_risk(t.f, t, key=jax.random.key(1), n_test=20_000, dtype=jnp.float64)
    assert exact.excess_risk == pytest.approx(0.0, abs=1e-20)
    zero = excess_risk(lambda X: jnp.zeros(X.shape[0]), t, key=jax.random.key(1), n_test=20_000)
    # E (0 - f*)^2 = E f*^2 = 1, within the Monte-Carlo error
    assert abs(zero.excess_risk - 1.0) < 5 * zero.stderr
    assert zero.relative_risk == pytest.approx(zero.excess_risk / t.moments.variance)
