"""Learning exponents from the Hermite table, on targets whose exponents are known by hand, and the
Hermite tensors against Gauss-Hermite quadrature."""

import math

import jax
import numpy as np
import pytest

from featlearn import ConfigError
from featlearn.targets import Head, hermite_basis, make_target, target_from_callable
from featlearn.targets._exponents import (
    basis_leap,
    hermite_tensor,
    information_exponent,
    leap_complexity,
    learning_exponents,
    tensor_rank,
)

INF = math.inf


def _head(r, terms):
    return Head.from_terms(r, terms)


STAIRCASE = _head(3, {(1, 0, 0): 1.0, (1, 1, 0): 1.0, (1, 1, 1): 1.0})  # x1 + x1x2 + x1x2x3
PARITY3 = _head(3, {(1, 1, 1): 1.0})  # x1 x2 x3
MIXED = _head(2, {(2, 0): 1.0, (0, 3): 1.0})  # h2(z1) + h3(z2): exponents 2 and 3


@pytest.mark.parametrize(
    ("head", "ie_min", "ie_axes", "leap", "ranks"),
    [
        (_head(1, {(2,): 1.0}), 2, (2,), 2, (0, 1)),  # single-he2
        (_head(1, {(3,): 1.0}), 3, (3,), 3, (0, 0, 1)),  # He3 alone
        (STAIRCASE, 1, (1, INF, INF), 1, (1, 2, 3)),
        (PARITY3, 3, (INF, INF, INF), 3, (0, 0, 3)),
        (MIXED, 2, (2, 3), 3, (0, 1, 1)),
    ],
    ids=["single-he2", "he3", "staircase", "x1x2x3", "h2+h3"],
)
def test_exponents_known_by_hand(head, ie_min, ie_axes, leap, ranks):
    ex = learning_exponents(head)
    assert ex.information_exponent_min == ie_min
    assert ex.information_exponent_axes == ie_axes
    assert ex.leap_complexity == leap == ex.basis_leap
    assert ex.tensor_ranks == ranks and ex.hessian_rank == (ranks[1] if len(ranks) > 1 else 0)
    assert ex.summary()["leap_complexity"] == leap


def test_staircase_learns_one_direction_per_step_and_parity_all_at_once():
    assert learning_exponents(STAIRCASE).leap_steps == ((1, 1), (1, 1), (1, 1))
    assert learning_exponents(PARITY3).leap_steps == ((3, 3),)
    assert learning_exponents(MIXED).leap_steps == ((2, 1), (3, 1))


def _rotated(head, R, p):
    """The head of z -> g(R z), projected exactly (a polynomial of degree p)."""
    return target_from_callable(
        lambda z: np.asarray(head(np.asarray(z) @ R.T)), head.r, p, head.r, key=jax.random.key(0)
    ).head


@pytest.mark.parametrize("head", [STAIRCASE, PARITY3, MIXED], ids=["staircase", "parity", "mixed"])
def test_leap_and_ranks_do_not_depend_on_the_basis(head):
    R = np.linalg.qr(np.random.default_rng(3).standard_normal((head.r, head.r)))[0]
    rotated = _rotated(head, R, head.p)
    a, b = learning_exponents(head), learning_exponents(rotated)
    assert b.leap_complexity == a.leap_complexity
    assert (
        b.tensor_ranks == a.tensor_ranks
        and b.information_exponent_min == a.information_exponent_min
    )
    # the exponent along a direction moves with the direction: u in the old basis is R^T u in the new
    for u in np.eye(head.r):
        assert information_exponent(rotated, R.T @ u) == information_exponent(head, u)


def test_basis_leap_depends_on_the_basis_and_the_leap_does_not():
    """h2(v1.z) + h3(v2.z) in a generic basis: every coordinate has degree-2 terms, so the support
    is covered by leaps of 2, while the second direction still needs a degree-3 step."""
    R = np.linalg.qr(np.random.default_rng(3).standard_normal((2, 2)))[0]
    rotated = _rotated(MIXED, R, 3)
    assert basis_leap(MIXED) == 3 and basis_leap(rotated) == 2
    assert leap_complexity(rotated) == 3


def test_hermite_tensors_match_quadrature_and_the_target_hessian():
    t = make_target("dls-r2p3", 7, key=jax.random.key(0))
    head = t.head
    nodes, weights = np.polynomial.hermite_e.hermegauss(8)
    z = np.stack(np.meshgrid(nodes, nodes, indexing="ij"), -1).reshape(-1, 2)
    w = np.outer(weights, weights).ravel() / (2 * math.pi)
    g = np.asarray(head(z))
    u = np.array([0.6, -0.8])
    for k in range(1, 4):  # E[g(z) h_k(u.z)] = <T_k, u^k> / sqrt(k!)
        h_k = np.asarray(hermite_basis((z @ u)[:, None], np.array([[k]])))[:, 0]
        T = hermite_tensor(head, k)
        for _ in range(k):
            T = T @ u
        assert float(T) / math.sqrt(math.factorial(k)) == pytest.approx(
            np.sum(w * g * h_k), abs=1e-12
        )
    np.testing.assert_allclose(t.U.T @ hermite_tensor(head, 2) @ t.U, t.moments.hessian, atol=1e-14)
    assert tensor_rank(head, 2) == t.moments.hessian_rank == 2


def test_direction_with_no_component_and_bad_u():
    assert information_exponent(_head(2, {(1, 1): 1.0}), [1.0, 0.0]) == INF
    assert information_exponent(_head(2, {(1, 1): 1.0}), [1.0, 1.0]) == 2  # (z1 + z2)^2 / 2 part
    with pytest.raises(ConfigError, match=r"u must be a non-zero vector of length r = 2"):
        information_exponent(MIXED, [0.0, 0.0])
    assert learning_exponents(_head(1, {(0,): 2.0})).leap_complexity == 0
