"""Conjugate gradients, the mixed-precision dual ridge, and Nyström/Falkon against exact solves."""

import jax
import numpy as np
import pytest

from featlearn import ConfigError
from featlearn.kernels import kernel_apply, kernel_matrix, make_kernel
from featlearn.solvers import (
    SingularSystemWarning,
    conjugate_gradient,
    dual_ridge_path,
    dual_select_lambda,
    nystrom_memory,
    nystrom_ridge,
    ridge_solve,
    ridge_solve_mixed,
    select_lambda,
    uniform_centers,
)
from featlearn.targets import ArrayStream


def _data(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.standard_normal(n)
    return X, y


def test_cg_solves_one_system_per_column_with_and_without_preconditioner():
    rng = np.random.default_rng(1)
    G = rng.standard_normal((40, 40))
    A = G @ G.T + np.eye(40)
    shifts = np.array([0.0, 1.0, 10.0])
    B = rng.standard_normal((40, 3))
    ref = np.stack([np.linalg.solve(A + s * np.eye(40), B[:, i]) for i, s in enumerate(shifts)], 1)
    out = conjugate_gradient(lambda P: A @ P + shifts * P, B, rtol=1e-12, max_iter=500)
    assert out.converged
    np.testing.assert_allclose(out.x, ref, rtol=1e-8, atol=1e-10)
    jacobi = 1.0 / (np.diag(A)[:, None] + shifts)
    pre = conjugate_gradient(
        lambda P: A @ P + shifts * P, B, precond=lambda R: jacobi * R, rtol=1e-12, max_iter=500
    )
    np.testing.assert_allclose(pre.x, ref, rtol=1e-8, atol=1e-10)
    capped = conjugate_gradient(lambda P: A @ P, B, rtol=1e-12, max_iter=2)
    assert capped.iterations == 2 and not capped.converged


def test_cg_by_column_passes_only_open_columns_and_solves_the_same_systems():
    rng = np.random.default_rng(2)
    G = rng.standard_normal((60, 60))
    A = G @ G.T + 0.1 * np.eye(60)
    shifts = np.array([1e-3, 1.0, 1e3])  # the large shift converges in a few steps
    B = rng.standard_normal((60, 3))
    ref = np.stack([np.linalg.solve(A + s * np.eye(60), B[:, i]) for i, s in enumerate(shifts)], 1)
    jacobi = 1.0 / (np.diag(A)[:, None] + shifts)
    seen = []

    def matvec(P, idx):
        seen.append(tuple(idx))
        return A @ P + shifts[idx] * P

    out = conjugate_gradient(
        matvec, B, precond=lambda R, idx: jacobi[:, idx] * R, rtol=1e-12, max_iter=500,
        by_column=True,
    )  # fmt: skip
    assert out.converged
    np.testing.assert_allclose(out.x, ref, rtol=1e-8, atol=1e-10)
    assert seen[0] == (0, 1, 2) and (0,) in seen  # every column at first, the hardest alone last
    assert sum(len(c) for c in seen) < 3 * len(seen)  # fewer column-products than all-columns


def test_mixed_precision_ridge_matches_float64_and_keeps_inputs():
    X, y = _data()
    K = kernel_matrix(make_kernel("ntk"), X)
    K0, y0 = K.copy(), y.copy()
    n = len(y)
    for lam in (1e-6, 1e-3, 1e-1):
        ref = ridge_solve(K, y, lam, scale=n)
        out = ridge_solve_mixed(K, y, lam, scale=n)
        np.testing.assert_allclose(K @ out, K @ ref, rtol=1e-8, atol=1e-8 * np.abs(y).max())
    np.testing.assert_array_equal(K, K0)
    np.testing.assert_array_equal(y, y0)


def test_mixed_precision_falls_back_on_singular_systems():
    Phi = np.random.default_rng(2).standard_normal((10, 30))
    A, c = Phi.T @ Phi, Phi.T @ np.ones(10)  # rank 10 < 30
    with pytest.warns(SingularSystemWarning):
        x = ridge_solve_mixed(A, c, 0.0)
    np.testing.assert_allclose(x, np.linalg.pinv(A) @ c, rtol=1e-6, atol=1e-8)


def test_dual_selection_equals_the_eigendecomposition_path():
    X, y = _data(n=250)
    Xv, yv = _data(n=80, seed=3)
    k = make_kernel("rbf", bandwidth=0.7)
    K, Kv = kernel_matrix(k, X), kernel_matrix(k, Xv, X)
    lambdas = np.geomspace(1e-6, 1.0, 7)
    lam, alpha, mse = dual_select_lambda(K, y, Kv, yv, lambdas)
    lam2, alpha2, mse2 = select_lambda(dual_ridge_path(K, y), Kv, yv, lambdas)
    assert lam == lam2
    np.testing.assert_allclose(mse, mse2, rtol=1e-6)  # eigh loses digits at the smallest lam
    np.testing.assert_allclose(K @ alpha, K @ alpha2, rtol=1e-7, atol=1e-9)


def test_dual_with_linear_kernel_equals_primal():
    """poly with q = 1 is the linear kernel of phi(x) = (1, x / sqrt d)."""
    X, y = _data(n=200, d=4)
    Xt, _ = _data(n=50, d=4, seed=4)
    n, d, lam = len(y), X.shape[1], 0.05
    phi = lambda A: np.hstack([np.ones((len(A), 1)), A / np.sqrt(d)])  # noqa: E731
    a = ridge_solve(phi(X).T @ phi(X) / n, phi(X).T @ y / n, lam)
    k = make_kernel("poly", q=1)
    alpha = ridge_solve_mixed(kernel_matrix(k, X), y, lam, scale=n)
    np.testing.assert_allclose(kernel_matrix(k, Xt, X) @ alpha, phi(Xt) @ a, rtol=1e-9)
    np.testing.assert_allclose(phi(X).T @ alpha, a, rtol=1e-9)  # a = Phi^T alpha


def _exact(K, y, lam):
    return ridge_solve(K, y - y.mean(), lam, scale=len(y))


@pytest.mark.parametrize("cache", [True, False])
def test_nystrom_with_all_points_as_centres_is_exact(cache):
    X, y = _data(n=240)
    k = make_kernel("ntk")
    K = kernel_matrix(k, X)
    n = len(y)
    lambdas = np.array([1e-5, 1e-3, 1e-1]) * np.mean(np.diag(K)) / n
    budget = nystrom_memory(n, 3) + (10**7 if cache else 6 * 8 * n * 20)  # 21-row blocks
    sol = nystrom_ridge(k, ArrayStream(X, y, block=100), X, lambdas, max_bytes=budget, rtol=1e-12)
    assert sol.cached == cache
    assert sol.y_mean == pytest.approx(y.mean(), rel=1e-12)
    for i, lam in enumerate(lambdas):
        ref = K @ _exact(K, y, lam)
        np.testing.assert_allclose(K @ sol.coefs[:, i], ref, rtol=1e-7, atol=1e-7)


def test_nystrom_is_exact_when_centres_span_the_feature_space():
    """Linear kernel (rank d + 1): any M >= d + 1 generic centres give the exact solution."""
    X, y = _data(n=400, d=4)
    k = make_kernel("poly", q=1)
    K = kernel_matrix(k, X)
    C = uniform_centers(ArrayStream(X, y), 12, key=jax.random.key(0))
    lam = 1e-2
    sol = nystrom_ridge(k, ArrayStream(X, y), C, [lam], rtol=1e-12, max_iter=200)
    np.testing.assert_allclose(
        kernel_apply(k, X, C, sol.coefs[:, 0]), K @ _exact(K, y, lam), rtol=1e-7, atol=1e-8
    )


def test_nystrom_with_fewer_centres_is_close_on_an_easy_problem():
    X, y = _data(n=800, d=3)
    k = make_kernel("rbf", bandwidth=1.0)
    K = kernel_matrix(k, X)
    lam = 1e-2 / len(y)  # n lam = 1e-2 against k(x, x) = 1
    C = uniform_centers(ArrayStream(X, y), 200, key=jax.random.key(1))
    sol = nystrom_ridge(k, ArrayStream(X, y, block=400), C, [lam], rtol=1e-8, max_iter=200)
    assert sol.iterations < 80  # the preconditioner works: unpreconditioned CG needs thousands
    pred, ref = kernel_apply(k, X, C, sol.coefs[:, 0]), K @ _exact(K, y, lam)
    assert np.linalg.norm(pred - ref) / np.linalg.norm(ref) < 0.02


def test_uniform_centres_are_distinct_rows_and_keyed():
    X, y = _data(n=500)
    stream = ArrayStream(X, y, block=64)
    C = uniform_centers(stream, 40, key=jax.random.key(5))
    rows = {tuple(r) for r in X}
    assert C.shape == (40, X.shape[1]) and len({tuple(r) for r in C}) == 40
    assert all(tuple(r) in rows for r in C)
    np.testing.assert_array_equal(C, uniform_centers(stream, 40, key=jax.random.key(5)))
    assert not np.array_equal(C, uniform_centers(stream, 40, key=jax.random.key(6)))


def test_nystrom_bad_inputs_name_the_parameter():
    X, y = _data(n=50)
    k = make_kernel("ntk")
    with pytest.raises(ConfigError, match=r"centers must be <= n \(= 50\); got 51"):
        uniform_centers(ArrayStream(X, y), 51, key=jax.random.key(0))
    with pytest.raises(ConfigError, match=r"centers must be <= n \(= 50\); got 60"):
        nystrom_ridge(k, ArrayStream(X, y), np.ones((60, X.shape[1])), [0.1])
    with pytest.raises(ConfigError, match="max_bytes must be >="):
        nystrom_ridge(k, ArrayStream(X, y), X[:20], [0.1], max_bytes=1000)
