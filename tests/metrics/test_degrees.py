"""Per-degree learned energy: known predictors on both input laws, tolerances from the MC error."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import ConfigError, NumericalError
from featlearn.metrics import degree_energies, excess_risk
from featlearn.targets import Head, Target, make_target

N_TEST, BLOCK = 8 * 4096, 4096  # eight whole blocks: streamed sums, one compilation, and the
# same points as excess_risk (whose stream uses blocks of 4096)


def _target(inputs, head=None):
    t = make_target("dls-r2p3", 8, key=jax.random.key(0), inputs=inputs)
    return t if head is None else Target(head, t.U, inputs=inputs)


def _report(predict, target, seed=1):
    return degree_energies(
        predict, target, key=jax.random.key(seed), n_test=N_TEST, block=BLOCK, dtype=jnp.float64
    )


def _on_basis(target, coefs):
    """The predictor sum_i coefs[i] phi_i(Ux) on the target's own basis."""
    U = jnp.asarray(target.U)
    return lambda X: target.basis(X @ U.T) @ jnp.asarray(coefs)


def _check_coefficients(rep, expected):
    z = np.abs(rep.coefficients - expected) / rep.stderr
    assert z.max() < 5, z


def _check_fraction(rep, k, expected):
    """|fraction - expected| within 5 standard errors: (c_hat - c) ~ N(bias, stderr^2) per term."""
    sel = rep.degrees == k
    c, b = rep.target_coefficients[sel], rep.coefficients[sel] - rep.target_coefficients[sel]
    energy = c @ c
    tol = (
        10 * np.sqrt(np.sum((b * rep.stderr[sel]) ** 2)) + 10 * np.sum(rep.stderr[sel] ** 2)
    ) / energy
    assert abs(rep.learned_fraction[k] - expected) <= tol + 1e-12, (k, rep.learned_fraction[k], tol)


@pytest.mark.parametrize("inputs", ["gaussian", "sphere"])
def test_the_target_itself_learns_every_degree(inputs):
    t = _target(inputs)
    rep = _report(t.f, t)
    _check_coefficients(rep, t.coefficients)
    energy = t.moments.energy_per_degree
    for k in range(4):
        if energy[k] == 0 or (inputs == "sphere" and k == 0):
            assert rep.learned_fraction[k] is None
        else:
            _check_fraction(rep, k, 1.0)
    assert abs(rep.outside_energy) < 5 * rep.outside_stderr + 1e-12


@pytest.mark.parametrize("inputs", ["gaussian", "sphere"])
def test_a_predictor_without_degree_3_learns_the_rest(inputs):
    t = _target(inputs)
    coefs = np.where(t.basis.degrees == 3, 0.0, t.coefficients)
    rep = _report(_on_basis(t, coefs), t)
    _check_coefficients(rep, coefs)
    _check_fraction(rep, 3, 0.0)
    _check_fraction(rep, 2, 1.0)
    assert abs(rep.outside_energy) < 5 * rep.outside_stderr + 1e-12


@pytest.mark.parametrize("inputs", ["gaussian", "sphere"])
def test_a_degree_4_term_lands_in_the_outside_energy(inputs):
    """f_hat = f* + h_4(z_1)/2. Gaussian: outside energy 1/4 exactly. Sphere: h_4(z_1) also has
    harmonic degrees 0 and 2, so the expected coefficients and outside energy come from the exact
    moments of the degree-4 target (its graded basis extends the degree-3 one)."""
    t = _target(inputs)
    terms = {
        tuple(int(v) for v in a): float(c) for a, c in zip(t.head.alphas, t.head.coefs, strict=True)
    }
    t4 = _target(inputs, Head.from_terms(2, {**terms, (4, 0): 0.5}))
    rep = _report(t4.f, t)
    K = len(t.coefficients)
    np.testing.assert_allclose(t4.basis.transform[:K, :K], t.basis.transform, atol=1e-12)
    _check_coefficients(rep, t4.coefficients[:K])
    e4 = t4.moments.energy_per_degree[4]
    if inputs == "gaussian":
        assert e4 == pytest.approx(0.25)
    assert abs(rep.outside_energy - e4) < 5 * rep.outside_stderr
    # E(f_hat - f*)^2 = sum (c_hat - c)^2 + outside energy. On the same points as excess_risk
    # (same key, n_test, dtype, blocks of 4096) the two sides differ by sum c^2 - mean f*^2 (the
    # sampling error of E f*^2, read off the zero predictor's risk) plus the debiasing sum stderr^2
    risk = excess_risk(t4.f, t, key=jax.random.key(1), n_test=N_TEST, dtype=jnp.float64)
    zero = excess_risk(
        lambda X: jnp.zeros(X.shape[0], X.dtype),
        t,
        key=jax.random.key(1),
        n_test=N_TEST,
        dtype=jnp.float64,
    )
    split = np.sum((rep.coefficients - rep.target_coefficients) ** 2) + rep.outside_energy
    c, se2 = rep.target_coefficients, np.sum(rep.stderr**2)
    assert split == pytest.approx(risk.excess_risk + c @ c - zero.excess_risk + se2, abs=1e-10)
    assert abs(split - risk.excess_risk) < 5 * zero.stderr + se2


def test_record_is_flat_json_and_errors_name_the_problem():
    t = _target("gaussian")
    rec = _report(t.f, t).to_record()
    back = json.loads(json.dumps(rec))
    assert back["learned_fraction"][:2] == [None, None] and len(back["learned_fraction"]) == 4
    assert all(not isinstance(v, dict) for v in back.values())
    with pytest.raises(ConfigError, match="n_test must be an integer >= 2; got 1"):
        degree_energies(t.f, t, key=jax.random.key(0), n_test=1)
    with pytest.raises(NumericalError, match="NaN"):
        degree_energies(lambda X: X[:, 0] * jnp.nan, t, key=jax.random.key(0), n_test=100)
    with pytest.raises(NumericalError, match="shape"):
        degree_energies(lambda X: X, t, key=jax.random.key(0), n_test=100)
