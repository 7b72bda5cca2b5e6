"""Converged Hermite projection of non-polynomial functions, against closed-form coefficients and
one-dimensional adaptive quadrature."""

import math

import jax
import numpy as np
import pytest
from scipy import integrate

from featlearn import ConfigError, NumericalError
from featlearn.targets._projection import project, target_from_function


def _h(k, z):
    """Orthonormal probabilists' Hermite h_k(z) by the three-term recurrence."""
    prev, cur = np.ones_like(z), z
    if k == 0:
        return prev
    for j in range(1, k):
        prev, cur = cur, (z * cur - math.sqrt(j) * prev) / math.sqrt(j + 1)
    return cur


def test_exp_times_cos_matches_the_generating_function():
    """g = exp(t z1) cos(z2): E[exp(t z) h_k] = e^{t^2/2} t^k / sqrt(k!), E[cos(z) h_k] =
    e^{-1/2} (-1)^{k/2} / sqrt(k!) for even k (0 for odd); E g^2 = e^{2t^2} (1 + e^{-2}) / 2."""
    t, p = 0.5, 5
    proj = project(lambda z: np.exp(t * z[:, 0]) * np.cos(z[:, 1]), 2, p)

    def exact(a):
        c1 = math.exp(t * t / 2) * t ** a[0] / math.sqrt(math.factorial(a[0]))
        c2 = (
            0.0
            if a[1] % 2
            else math.exp(-0.5) * (-1) ** (a[1] // 2) / math.sqrt(math.factorial(a[1]))
        )
        return c1 * c2

    want = np.array([exact(a) for a in proj.head.alphas])
    np.testing.assert_allclose(proj.head.coefs, want, rtol=0, atol=1e-9)
    second = math.exp(2 * t * t) * (1 + math.exp(-2)) / 2
    assert proj.second_moment == pytest.approx(second, rel=1e-9)
    assert proj.truncation_energy == pytest.approx(second - np.sum(want**2), abs=1e-9)


def test_tanh_times_z2_degree_four_energy_is_not_aliased():
    """The issue's case: g = tanh(z1) z2, p = 4. Its only degree-4 term is alpha = (3, 1), with
    c = E[tanh(z) h_3(z)] (adaptive 1-D quadrature here); p + 1 nodes gave 0.0133 instead of ~0.022."""

    def density(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    c31 = integrate.quad(
        lambda z: math.tanh(z) * _h(3, np.array(z)) * density(z), -40, 40, epsabs=1e-13
    )[0]
    proj = project(lambda z: np.tanh(z[:, 0]) * z[:, 1], 2, 4)
    degrees = proj.head.alphas.sum(1)
    energy4 = float(np.sum(proj.head.coefs[degrees == 4] ** 2))
    assert energy4 == pytest.approx(c31**2, rel=1e-8)
    assert 0.02 < energy4 < 0.025
    # E g^2 = E tanh^2, and what degree <= 4 leaves out is the tail of tanh's odd coefficients
    e_tanh2 = integrate.quad(lambda z: math.tanh(z) ** 2 * density(z), -40, 40, epsabs=1e-13)[0]
    assert proj.second_moment == pytest.approx(e_tanh2, rel=1e-9)
    kept = sum(
        integrate.quad(
            lambda z, k=k: math.tanh(z) * _h(k, np.array(z)) * density(z), -40, 40, epsabs=1e-13
        )[0]
        ** 2
        for k in (1, 3)
    )
    assert proj.truncation_energy == pytest.approx(e_tanh2 - kept, abs=1e-9)


def test_polynomials_converge_at_once_and_targets_carry_the_table():
    target, proj = target_from_function(
        lambda z: z[:, 0] ** 2 * z[:, 1] - 1, 2, 3, 10, key=jax.random.key(0)
    )
    assert proj.nodes == 8 and proj.truncation_energy == pytest.approx(0.0, abs=1e-12)
    assert target.head.coef((2, 1)) == pytest.approx(math.sqrt(2), rel=1e-12)  # z^2 = sqrt2 h_2 + 1
    assert target.head.coef((0, 1)) == pytest.approx(1.0, rel=1e-12)
    assert target.head.coef((0, 0)) == pytest.approx(-1.0, rel=1e-12)


def test_rough_functions_fail_loudly_and_bad_output_is_named():
    with pytest.raises(NumericalError, match="not converged"):
        project(lambda z: np.sign(z[:, 0]), 1, 3, max_nodes=64)
    with pytest.raises(ConfigError, match=r"g must map \(n, r\) to \(n,\)"):
        project(lambda z: z, 2, 2)
    with pytest.raises(NumericalError, match="NaN or inf"):
        project(lambda z: np.where(z[:, 0] > 0, np.inf, 0.0), 1, 2)
