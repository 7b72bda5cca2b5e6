import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import ConfigError
from featlearn.solvers import (
    RidgePath,
    SingularSystemWarning,
    accumulate_gram,
    dual_ridge_path,
    lambda_grid,
    ridge_solve,
    select_lambda,
)


def _problem(n=200, m=30, seed=0):
    rng = np.random.default_rng(seed)
    Phi = rng.standard_normal((n, m))
    y = Phi @ rng.standard_normal(m) + 0.1 * rng.standard_normal(n)
    return Phi, y


def test_ridge_solve_matches_numpy_and_does_not_mutate():
    Phi, y = _problem()
    A, c = Phi.T @ Phi / len(y), Phi.T @ y / len(y)
    A0, c0 = A.copy(), c.copy()
    x = ridge_solve(A, c, 0.3)
    np.testing.assert_allclose(x, np.linalg.solve(A + 0.3 * np.eye(30), c), rtol=1e-10)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(c, c0)


def test_singular_system_warns_and_falls_back_to_least_squares():
    Phi, y = _problem(n=10, m=30)  # rank 10 < 30
    A, c = Phi.T @ Phi, Phi.T @ y
    with pytest.warns(SingularSystemWarning):
        x = ridge_solve(A, c, 0.0)
    np.testing.assert_allclose(x, np.linalg.pinv(A) @ c, rtol=1e-6, atol=1e-8)


def test_ridge_bad_input():
    with pytest.raises(ConfigError, match="lambda must be >= 0"):
        ridge_solve(np.eye(2), np.ones(2), -1.0)
    with pytest.raises(ConfigError, match="square"):
        ridge_solve(np.ones((2, 3)), np.ones(2), 1.0)


def test_path_matches_individual_solves_and_dual_form():
    Phi, y = _problem()
    n = len(y)
    A, c = Phi.T @ Phi / n, Phi.T @ y / n
    lambdas = lambda_grid(A, num=7)
    path = RidgePath.from_gram(A, c)
    coefs = path.coefs(lambdas)
    dual = dual_ridge_path(Phi @ Phi.T, y)
    for j, lam in enumerate(lambdas):
        np.testing.assert_allclose(coefs[:, j], ridge_solve(A, c, lam), rtol=1e-8, atol=1e-10)
        # dual: a = Phi^T alpha with alpha = (K + n lam I)^-1 y
        alpha = dual.coefs([lam])[:, 0]
        np.testing.assert_allclose(Phi.T @ alpha, coefs[:, j], rtol=1e-6, atol=1e-8)


def test_gd_filter_matches_a_slow_gradient_descent_loop():
    Phi, y = _problem(n=100, m=12)
    n = len(y)
    A, c = Phi.T @ Phi / n, Phi.T @ y / n
    lam, lr, T = 0.05, 0.01, 300
    a = np.zeros(12)
    for _ in range(T):
        grad = 2 * (Phi.T @ (Phi @ a - y) / n) + 2 * lam * a
        a = a - lr * grad
    spectral = RidgePath.from_gram(A, c).coefs([lam], gd_steps=T, gd_lr=lr)[:, 0]
    np.testing.assert_allclose(spectral, a, rtol=1e-8, atol=1e-10)


def test_select_lambda_picks_the_validation_minimum():
    Phi, y = _problem(n=60, m=40, seed=1)
    Phi_val, y_val = _problem(n=500, m=40, seed=1)
    n = len(y)
    A, c = Phi.T @ Phi / n, Phi.T @ y / n
    lambdas = lambda_grid(A, num=15)
    lam, a, mse = select_lambda(RidgePath.from_gram(A, c), Phi_val, y_val, lambdas)
    direct = [np.mean((Phi_val @ ridge_solve(A, c, l) - y_val) ** 2) for l in lambdas]
    np.testing.assert_allclose(mse, direct, rtol=1e-8)
    assert lam == lambdas[int(np.argmin(direct))]


def test_accumulate_gram_equals_direct_product():
    Phi, y = _problem(n=1000, m=20)
    blocks = [
        (jnp.asarray(Phi[i : i + 300]), jnp.asarray(y[i : i + 300])) for i in range(0, 1000, 300)
    ]
    A, c, n = accumulate_gram(blocks, 20)
    assert n == 1000
    np.testing.assert_allclose(A, Phi.T @ Phi / 1000, rtol=1e-12)
    np.testing.assert_allclose(c, Phi.T @ y / 1000, rtol=1e-12)
