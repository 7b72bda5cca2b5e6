"""Sphere inputs: sampling, exact moments and the spherical-harmonic energy per degree."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

from featlearn import ConfigError
from featlearn.targets import Head, Target, make_target, random_orthonormal_rows, sphere_moment


def _sample(t, n, seed):
    """n samples in one block (one compilation), float64."""
    stream = t.stream(n, key=jax.random.key(seed), dtype=jnp.float64, block=n)
    return stream.materialize()


HEADS = ["dls-r2p3", "transfer-pair/target", "random(r=3, p=3, energies=[0.1, 0.2, 0.4, 0.3])"]


def _gegenbauer(k, d, t):
    """Q_k(t) normalised Q_k(1) = 1, from scipy (independent of featlearn's recurrence)."""
    a = (d - 2) / 2
    return special.eval_gegenbauer(k, a, t) / special.eval_gegenbauer(k, a, 1.0)


def _multiplicity(d, k):
    return math.comb(d + k - 1, k) - (math.comb(d + k - 3, k - 2) if k >= 2 else 0)


def test_gaussian_stream_is_unchanged_and_sphere_rescales_the_same_rows():
    key = jax.random.key(5)
    g = make_target("dls-r2p3", 7, key=jax.random.key(0))
    s = make_target("dls-r2p3", 7, key=jax.random.key(0), inputs="sphere")
    Xg, _ = g.stream(4096, key=key, dtype=jnp.float64).materialize()
    Xs, ys = s.stream(4096, key=key, dtype=jnp.float64).materialize()
    # the documented scheme: block 0 is normal(split(fold_in(key, 0))[0]) -- bit for bit
    raw = jax.random.normal(jax.random.split(jax.random.fold_in(key, 0))[0], (4096, 7), jnp.float64)
    np.testing.assert_array_equal(Xg, raw)
    np.testing.assert_allclose(Xs, math.sqrt(7) * Xg / jnp.linalg.norm(Xg, axis=1)[:, None])
    np.testing.assert_allclose(np.sum(np.asarray(Xs) ** 2, 1), 7.0, rtol=1e-12)
    np.testing.assert_allclose(ys, s.f(Xs), rtol=1e-12, atol=1e-14)


def test_sphere_moment_closed_form_against_monte_carlo():
    d = 5
    x = np.asarray(jax.random.normal(jax.random.key(0), (400_000, d), jnp.float64))
    z = math.sqrt(d) * x / np.linalg.norm(x, axis=1, keepdims=True)
    for e in [(2, 0), (4, 0), (2, 2), (6, 0), (4, 2), (1, 1), (3, 0)]:
        v = z[:, 0] ** e[0] * z[:, 1] ** e[1]
        se = v.std() / math.sqrt(len(v))
        assert abs(v.mean() - sphere_moment(e, d)) < 5 * se, e
    assert sphere_moment((2, 2), d) == pytest.approx(d / (d + 2), rel=1e-14)


@pytest.mark.parametrize("name", HEADS)
def test_sphere_basis_is_orthonormal_and_moments_match_monte_carlo(name):
    t = make_target(name, 6, key=jax.random.key(0), inputs="sphere")
    X, y = _sample(t, 200_000, 1)
    phi = np.asarray(t.basis(X @ jnp.asarray(t.U).T))
    gram = phi.T @ phi / len(phi)
    se = np.sqrt((phi**2).T @ phi**2) / len(phi)
    assert (np.abs(gram - np.eye(len(gram))) < 5 * se).all()
    y, m = np.asarray(y), t.moments
    assert abs(y.mean() - m.mean) < 5 * y.std() / math.sqrt(len(y))
    assert abs((y**2).mean() - m.second_moment) < 5 * (y**2).std() / math.sqrt(len(y))
    assert m.variance == pytest.approx(m.second_moment - m.mean**2)
    assert sum(m.energy_per_degree) == pytest.approx(m.second_moment, rel=1e-12)
    # f* = sum_i b_i phi_i exactly
    np.testing.assert_allclose(phi @ t.coefficients, y, atol=1e-10)


@pytest.mark.parametrize("name", ["dls-r2p3", "transfer-pair/target"])
def test_energy_per_degree_by_the_reproducing_kernel_monte_carlo(name):
    """E_k = E_{x, x'}[f(x) f(x') N_k Q_k(x.x'/d)] over independent pairs: N_k Q_k(x.x'/d) is the
    reproducing kernel of the degree-k harmonics, so this is an independent estimate of E_k."""
    d, n = 5, 400_000
    t = make_target(name, d, key=jax.random.key(2), inputs="sphere")
    X, y = _sample(t, 2 * n, 3)
    X, y = np.asarray(X), np.asarray(y)
    tau = np.sum(X[:n] * X[n:], 1) / d
    for k, energy in enumerate(t.moments.energy_per_degree):
        v = y[:n] * y[n:] * _multiplicity(d, k) * _gegenbauer(k, d, tau)
        se = v.std() / math.sqrt(n)
        assert abs(v.mean() - energy) < 5 * se + 1e-12, (k, v.mean(), energy, se)


@pytest.mark.parametrize("d", [3, 7, 40])
def test_zonal_energies_against_gegenbauer_quadrature(d):
    """r = 1: f*(x) = F(tau) = g(sqrt(d) tau) with tau = U x / sqrt(d) (density prop. to
    (1 - tau^2)^((d-3)/2)); its degree-k part is N_k E[F Q_k] Q_k, so E_k = N_k E[F Q_k]^2."""
    head = Head.from_terms(1, {(0,): 0.3, (1,): -0.4, (2,): 0.5, (3,): 0.2, (4,): -0.6})
    t = Target(head, random_orthonormal_rows(1, d, key=jax.random.key(0)), inputs="sphere")
    w = lambda s: (1 - s * s) ** ((d - 3) / 2)  # noqa: E731
    norm = integrate.quad(w, -1, 1)[0]
    herme = [0.3, -0.4, 0.5 / math.sqrt(2), 0.2 / math.sqrt(6), -0.6 / math.sqrt(24)]
    F = lambda s: np.polynomial.hermite_e.hermeval(math.sqrt(d) * s, herme)  # noqa: E731
    for k, energy in enumerate(t.moments.energy_per_degree):
        a = integrate.quad(lambda s: w(s) * F(s) * _gegenbauer(k, d, s), -1, 1)[0] / norm  # noqa: B023
        assert energy == pytest.approx(_multiplicity(d, k) * a * a, rel=1e-9, abs=1e-13)
    assert len(t.moments.energy_per_degree) == 5


@pytest.mark.parametrize("name", HEADS)
def test_sphere_energies_approach_hermite_energies_like_one_over_d(name):
    gauss = np.array(make_target(name, 8, key=jax.random.key(0)).moments.energy_per_degree)
    gaps = []
    for d in (250, 1000):
        t = make_target(name, d, key=jax.random.key(0), inputs="sphere")
        gaps.append(np.abs(np.array(t.moments.energy_per_degree) - gauss).max())
        np.testing.assert_allclose(t.moments.energy_per_degree, gauss, atol=30 / d)
    assert gaps[1] < gaps[0] / 3  # O(1/d): a 4x larger d shrinks the gap about 4x


def test_sphere_input_validation_and_records():
    with pytest.raises(ConfigError, match="inputs must be one of"):
        make_target("dls-r2p3", 5, key=jax.random.key(0), inputs="ball")
    with pytest.raises(ConfigError, match=r"d must be an integer >= r \+ 1 \(= 3\)"):
        make_target("dls-r2p3", 2, key=jax.random.key(0), inputs="sphere")
    t = make_target("dls-r2p3", 9, key=jax.random.key(0), inputs="sphere")
    assert t.describe()["inputs"] == "sphere"
    assert make_target("dls-r2p3", 9, key=jax.random.key(0)).describe()["inputs"] == "gaussian"
    # the Gaussian-law Hessian (the rank assumption) does not depend on the input law
    np.testing.assert_allclose(
        t.moments.hessian, make_target("dls-r2p3", 9, key=jax.random.key(0)).moments.hessian
    )
