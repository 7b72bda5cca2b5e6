import math

import jax.numpy as jnp
import numpy as np
import pytest

from featlearn.targets import hermite_basis, hermite_normalized, multi_indices


def _gauss_hermite(nodes):
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    return z, w / math.sqrt(2 * math.pi)


def test_univariate_orthonormal_by_quadrature():
    z, w = _gauss_hermite(40)
    h = np.asarray(hermite_normalized(jnp.asarray(z), 12))  # (40, 13)
    gram = (h * w[:, None]).T @ h
    np.testing.assert_allclose(gram, np.eye(13), atol=1e-10)


def test_matches_numpy_hermite_e():
    z = np.linspace(-3, 3, 11)
    h = np.asarray(hermite_normalized(jnp.asarray(z), 6))
    for k in range(7):
        coef = np.zeros(k + 1)
        coef[k] = 1.0
        expected = np.polynomial.hermite_e.hermeval(z, coef) / math.sqrt(math.factorial(k))
        np.testing.assert_allclose(h[:, k], expected, rtol=1e-12, atol=1e-12)


def test_multivariate_basis_orthonormal_by_tensor_quadrature():
    z, w = _gauss_hermite(12)
    grid = np.stack(np.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2)
    weights = np.outer(w, w).ravel()
    alphas = multi_indices(2, 4)
    B = np.asarray(hermite_basis(jnp.asarray(grid), alphas))
    np.testing.assert_allclose((B * weights[:, None]).T @ B, np.eye(len(alphas)), atol=1e-10)


@pytest.mark.parametrize("r,p", [(1, 3), (2, 3), (3, 2)])
def test_multi_indices_count(r, p):
    alphas = multi_indices(r, p)
    assert len(alphas) == math.comb(r + p, p)
    assert len({tuple(a) for a in alphas}) == len(alphas)
    assert (alphas.sum(1) <= p).all()
