"""Kernels against independent references: Monte-Carlo over the network's initialisation, the
empirical NTK from autodiff, scikit-learn's pairwise kernels, explicit projections."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics.pairwise import polynomial_kernel, rbf_kernel

from featlearn import ConfigError
from featlearn.kernels import (
    block_rows,
    kernel_apply,
    kernel_matrix,
    make_kernel,
    oracle,
)
from featlearn.networks import features, forward, get_activation, init_symmetric

D = 6
ACTS = ["relu", "erf", "tanh"]


def _points(n=4, d=D, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[1] = 0.6 * X[0] + 0.8 * X[1]  # a correlated pair, so off-diagonal values are not tiny
    return X


def _half(width, d, key):
    """Independent neurons of the network's own symmetric initialisation (first half)."""
    p = init_symmetric(width, d, key=key, dtype=jnp.float64)
    h = width // 2
    return p, p.W[:h], p.b[:h]


def _within_sampling_error(samples, analytic, z=5.0):
    """samples (m, n, n) of iid per-neuron values; |mean - analytic| <= z standard errors."""
    mean = samples.mean(0)
    stderr = samples.std(0, ddof=1) / np.sqrt(samples.shape[0])
    assert (stderr < 0.02 * np.abs(analytic).max()).all(), "tolerance would be vacuous"
    np.testing.assert_array_less(np.abs(mean - analytic), z * stderr + 1e-12)


@pytest.mark.parametrize("act", ACTS)
def test_nngp_equals_monte_carlo_over_initialisation(act):
    X = _points()
    _, W, b = _half(2 * 40_000, D, jax.random.key(1))
    Phi = np.asarray(features(W, b, jnp.asarray(X), get_activation(act)))  # (n, m)
    samples = np.einsum("im,jm->mij", Phi, Phi)
    _within_sampling_error(samples, kernel_matrix(make_kernel("nngp", activation=act), X))


def _per_neuron_ntk(params, X, act):
    """Per-neuron NTK contributions from jax.jacobian of the finite network: (m, n, n)."""
    jac = jax.jacobian(lambda p: forward(p, jnp.asarray(X), act))(params)
    Ja, Jb, JW = (np.asarray(j) for j in (jac.a, jac.b, jac.W))  # (n, m), (n, m), (n, m, d)
    per = np.einsum("im,jm->mij", Ja, Ja) + np.einsum("im,jm->mij", Jb, Jb)
    per += np.einsum("imk,jmk->mij", JW, JW)
    flat = np.concatenate([Ja, Jb, JW.reshape(X.shape[0], -1)], axis=1)
    np.testing.assert_allclose(per.sum(0), flat @ flat.T, rtol=1e-10)  # decomposition is exact
    return per


@pytest.mark.parametrize("act", ACTS)
def test_ntk_equals_empirical_ntk_over_width(act):
    X = _points(seed=2)
    params, _, _ = _half(2 * 20_000, D, jax.random.key(3))
    per = _per_neuron_ntk(params, X, act)
    h = params.width // 2
    np.testing.assert_allclose(
        per[:h], per[h:], rtol=1e-10, atol=1e-13
    )  # symmetric pairs: equal terms
    analytic = kernel_matrix(make_kernel("ntk", activation=act), X)
    # (1/m) J J^T over all m neurons = mean of the m/2 independent pair terms
    _within_sampling_error(per[:h], analytic)


def test_ntk_convention_changes_with_the_parameterisation():
    """The w-gradient gives x (w ~ N(0, I/d) is not rescaled), so NTK - NNGP grows like x.x'."""
    X = _points(seed=4)
    ntk, nngp = (kernel_matrix(make_kernel(k), X) for k in ("ntk", "nngp"))
    relu = get_activation("relu")
    s = X @ X.T / D + 1
    n1 = np.diag(s)
    prime = np.asarray(relu.dual_prime(n1[:, None], s, n1[None, :]))
    np.testing.assert_allclose(ntk - nngp, prime * (X @ X.T + 1), rtol=1e-12)
    # ReLU closed form at x = x': NNGP = s11 / 2, dual_prime = 1/2
    np.testing.assert_allclose(np.diag(nngp), n1 / 2, rtol=1e-12)
    np.testing.assert_allclose(np.diag(ntk), n1 / 2 + (np.sum(X**2, 1) + 1) / 2, rtol=1e-12)


@pytest.mark.parametrize("q", [1, 2, 3])
def test_poly_matches_sklearn(q):
    X, Z = _points(5, seed=5), _points(3, seed=6)
    ref = polynomial_kernel(X, Z, degree=q, gamma=1 / D, coef0=1)
    np.testing.assert_allclose(kernel_matrix(make_kernel("poly", q=q), X, Z), ref, rtol=1e-13)


@pytest.mark.parametrize("h", [0.5, 2.0])
def test_rbf_matches_sklearn(h):
    X, Z = _points(5, seed=7), _points(3, seed=8)
    ref = rbf_kernel(X, Z, gamma=1 / (2 * h**2 * D))
    # |x|^2 + |z|^2 - 2 x.z loses digits to cancellation (sklearn computes it the same way)
    K = kernel_matrix(make_kernel("rbf", bandwidth=h), X, Z)
    np.testing.assert_allclose(K, ref, rtol=1e-10)


@pytest.mark.parametrize("name", ["ntk", "nngp", "poly", "rbf"])
def test_oracle_is_the_base_kernel_in_dimension_r(name):
    rng = np.random.default_rng(9)
    U = np.linalg.qr(rng.standard_normal((D, 2)))[0].T  # (2, D), orthonormal rows
    X, Z = _points(5, seed=10), _points(4, seed=11)
    base = make_kernel(name)
    k = make_kernel(name, U=U)
    np.testing.assert_allclose(
        kernel_matrix(k, X, Z), kernel_matrix(base, X @ U.T, Z @ U.T), rtol=1e-10, atol=1e-12
    )
    # blind to the orthogonal complement of span(U)
    noise = rng.standard_normal(X.shape)
    X2 = X + noise - (noise @ U.T) @ U
    K, K2 = kernel_matrix(k, X, Z), kernel_matrix(k, X2, Z)
    np.testing.assert_allclose(K2, K, rtol=1e-9, atol=1e-12)
    # the diagonal through arccos of a rounded cosine near 1: ~sqrt(eps) (see the PSD test)
    diag = np.asarray(k.diag(jnp.asarray(X)))
    np.testing.assert_allclose(diag, np.diag(kernel_matrix(k, X)), rtol=1e-6)


@pytest.mark.parametrize("name", ["ntk", "nngp", "poly", "rbf"])
def test_kernel_matrices_are_symmetric_psd_with_matching_diag(name):
    X = np.random.default_rng(12).standard_normal((60, D))
    k = make_kernel(name, q=3)
    K = kernel_matrix(k, X)
    np.testing.assert_allclose(K, K.T, rtol=0, atol=1e-13 * np.abs(K).max())
    assert np.linalg.eigvalsh(K).min() > -1e-10 * np.abs(K).max()
    # arccos(x.x / |x|^2) with a rounded argument near 1 costs ~sqrt(eps) in the arc-cosine duals
    rtol = 1e-7 if name in ("ntk", "nngp") else 1e-12
    np.testing.assert_allclose(np.diag(K), np.asarray(k.diag(jnp.asarray(X))), rtol=rtol)


def test_blocks_equal_one_shot_and_float32_close():
    X, Z = np.random.default_rng(13).standard_normal((2, 37, D))
    k = make_kernel("ntk")
    ref = np.asarray(k(jnp.asarray(X), jnp.asarray(Z)))
    small = 6 * 8 * Z.shape[0] * 5  # five rows per block: eight blocks, the last one partial
    assert block_rows(Z.shape[0], small) == 5
    np.testing.assert_allclose(kernel_matrix(k, X, Z, max_bytes=small), ref, rtol=1e-12, atol=1e-14)
    coef = np.random.default_rng(14).standard_normal((Z.shape[0], 3))
    np.testing.assert_allclose(kernel_apply(k, X, Z, coef, max_bytes=small), ref @ coef, rtol=1e-12)
    K32 = kernel_matrix(k, X.astype(np.float32), Z.astype(np.float32))
    assert K32.dtype == np.float32
    np.testing.assert_allclose(K32, ref, rtol=1e-4, atol=1e-5)


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ConfigError, match="kernel must be one of"):
        make_kernel("laplace")
    with pytest.raises(ConfigError, match="q must be an integer >= 1; got 0"):
        make_kernel("poly", q=0)
    with pytest.raises(ConfigError, match="q must be an integer"):
        make_kernel("poly", q=1.5)
    for h in (0.0, -1.0):
        with pytest.raises(ConfigError, match="bandwidth must be > 0"):
            make_kernel("rbf", bandwidth=h)
    with pytest.raises(ConfigError, match="activation must be one of"):
        make_kernel("ntk", activation="gelu")
    with pytest.raises(ConfigError, match="max_bytes must be >= 480 bytes"):
        kernel_matrix(make_kernel("rbf"), np.ones((3, D)), np.ones((10, D)), max_bytes=479)
    with pytest.raises(ConfigError, match="orthonormal"):
        oracle(make_kernel("ntk"), 2 * np.eye(2, D))
    with pytest.raises(ConfigError, match="same number of columns"):
        kernel_matrix(make_kernel("ntk"), np.ones((3, D)), np.ones((3, D + 1)))


def test_kernels_of_different_kinds_never_share_a_compiled_program():
    """RBF(2.0) and Polynomial(2) hold equal field values; their tree structures must differ, or
    jit may run one's program for the other."""
    from featlearn.kernels._kernels import RBF, Polynomial

    rbf, poly = RBF(2.0), Polynomial(2)
    assert jax.tree_util.tree_structure(rbf) != jax.tree_util.tree_structure(poly)
    assert jax.tree_util.tree_structure(rbf) == jax.tree_util.tree_structure(RBF(2.0))
    X, Z = _points(5, seed=7), _points(3, seed=8)
    for _ in range(3):  # alternate on the same shapes: each call its own kernel
        np.testing.assert_allclose(
            kernel_matrix(poly, X, Z),
            polynomial_kernel(X, Z, degree=2, gamma=1 / D, coef0=1),
            rtol=1e-12,
        )
        np.testing.assert_allclose(
            kernel_matrix(rbf, X, Z), rbf_kernel(X, Z, gamma=1 / (2 * 4.0 * D)), rtol=1e-10
        )


def test_kernels_are_jit_friendly_pytrees():
    U = np.eye(2, D)
    k = make_kernel("ntk", U=U)
    leaves = jax.tree_util.tree_leaves(k)
    assert len(leaves) == 1 and leaves[0].shape == (2, D)
    assert jax.tree_util.tree_leaves(make_kernel("poly", q=3)) == []
    X = jnp.asarray(_points())
    out = jax.jit(lambda kern, A: kern(A, A))(k, X)
    # X, X: the rectangular path, as the direct call (Z = None replaces the diagonal by k.diag)
    np.testing.assert_allclose(out, kernel_matrix(k, X, X), rtol=1e-14)


def test_fast_arccos_and_relu_duals_match_the_reference():
    from featlearn.kernels._arccos import fast_arccos, relu_duals

    c = np.concatenate([np.linspace(-1, 1, 20001), 1 - np.geomspace(1e-16, 1e-2, 50)])
    assert np.abs(np.asarray(fast_arccos(jnp.asarray(c))) - np.arccos(c)).max() < 1e-13
    c32 = jnp.asarray(c, jnp.float32)
    err32 = np.abs(
        np.asarray(fast_arccos(c32), np.float64) - np.arccos(np.asarray(c32, np.float64))
    )
    assert err32.max() < 1e-6
    relu = get_activation("relu")  # the activation's own closed forms are the reference
    rng = np.random.default_rng(0)
    s11, s22 = rng.uniform(0.5, 3.0, (2, 1000))
    s12 = rng.uniform(-1, 1, 1000) * np.sqrt(s11 * s22)
    args = tuple(jnp.asarray(a) for a in (s11, s12, s22))
    dual, dual_prime = relu_duals(*args)
    np.testing.assert_allclose(dual, relu.dual(*args), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dual_prime, relu.dual_prime(*args), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("max_bytes", [6 * 8 * 10**2, 2**28])  # 10 x 10 tiles (ragged), one tile
def test_symmetric_kernel_matrix_equals_the_full_evaluation(max_bytes):
    X = np.random.default_rng(15).standard_normal((37, D))
    k = make_kernel("ntk")
    ref = np.asarray(k(jnp.asarray(X), jnp.asarray(X)))
    K = kernel_matrix(k, X, max_bytes=max_bytes)
    np.testing.assert_array_equal(K, K.T)
    off = ~np.eye(len(X), dtype=bool)
    np.testing.assert_allclose(K[off], ref[off], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.diag(K), k.diag(jnp.asarray(X)), rtol=1e-14)  # exact k(x, x)
    assert np.abs(np.diag(K) - np.diag(ref)).max() < 1e-7 * np.abs(ref).max()  # arccos near 1
    with pytest.raises(ConfigError, match="max_bytes must be >= 48 bytes"):
        kernel_matrix(k, X, max_bytes=10)


def test_symmetric_kernel_matrix_in_float32_mirrors_its_tiles():
    X = np.random.default_rng(16).standard_normal((37, D)).astype(np.float32)
    k = make_kernel("ntk")
    ref = np.asarray(k(jnp.asarray(X, jnp.float64), jnp.asarray(X, jnp.float64)))
    K = kernel_matrix(k, X, max_bytes=6 * 4 * 10**2)  # 10 x 10 float32 tiles, the last ragged
    assert K.dtype == np.float32
    np.testing.assert_array_equal(K, K.T)  # each lower tile is its upper tile's transpose
    assert np.abs(K - ref).max() < 1e-6 * np.abs(ref).max()  # float32 GEMM and duals
