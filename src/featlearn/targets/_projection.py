"""Projection of any function onto the orthonormal Hermite basis, converged and checked (issue 12).

c_alpha = E[g(z) h_alpha(z)], z ~ N(0, I_r), for |alpha| <= p, by tensor Gauss-Hermite quadrature
with q nodes per axis. q + 1 nodes are exact only for polynomials of degree <= 2q + 1 - p; for any
other g, too few nodes alias higher degrees into the kept ones (for g = tanh(z_1) z_2 at p = 4,
p + 1 nodes give degree-4 energy 0.0133 against 0.0220 converged). So q starts at p + 1 and doubles
until the coefficients and E g^2 change by less than ``rtol`` (relative to sqrt(E g^2)) between
two rules; not converging by ``max_nodes`` is a NumericalError. The energy that the degree-p
truncation leaves out, E g^2 - sum_alpha c_alpha^2, is reported with the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from featlearn._errors import ConfigError, NumericalError, check_int, check_real
from featlearn.targets._hermite import hermite_basis, multi_indices
from featlearn.targets._target import Head, Target, random_orthonormal_rows

__all__ = ["Projection", "project", "target_from_function"]

MAX_POINTS = 4 * 10**6  # quadrature points per rule (q^r)


@dataclass(frozen=True)
class Projection:
    """A converged Hermite projection.

    head : the degree-<= p table
    second_moment : E g^2 (by the same converged quadrature)
    truncation_energy : E g^2 - sum c_alpha^2, the energy above degree p (>= 0 up to rtol)
    nodes : nodes per axis of the rule that was accepted
    change : the largest change of a coefficient (or of E g^2) between the last two rules
    """

    head: Head
    second_moment: float
    truncation_energy: float
    nodes: int
    change: float

    def summary(self) -> dict[str, Any]:
        return {
            "second_moment": self.second_moment,
            "truncation_energy": self.truncation_energy,
            "nodes": self.nodes,
            "change": self.change,
        }


def _rule(g, r: int, q: int, alphas: np.ndarray) -> tuple[np.ndarray, float]:
    """(c_alpha for every alpha, E g^2) with q Gauss-Hermite nodes per axis."""
    if q**r > MAX_POINTS:
        raise ConfigError(
            f"nodes^r must be <= {MAX_POINTS} quadrature points; got {q}^{r} (lower max_nodes or r)"
        )
    nodes, weights = np.polynomial.hermite_e.hermegauss(q)
    weights = weights / math.sqrt(2 * math.pi)
    grid = np.stack(np.meshgrid(*([nodes] * r), indexing="ij"), -1).reshape(-1, r)
    w = np.prod(np.stack(np.meshgrid(*([weights] * r), indexing="ij"), -1).reshape(-1, r), 1)
    values = np.asarray(g(grid), dtype=np.float64).reshape(-1)
    if values.shape != (grid.shape[0],):
        raise ConfigError(f"g must map (n, r) to (n,); got {values.shape} for n = {grid.shape[0]}")
    if not np.isfinite(values).all():
        raise NumericalError(f"projection: g is NaN or inf at a quadrature node ({q} per axis)")
    coefs = np.asarray(hermite_basis(grid, alphas)).T @ (w * values)
    return coefs, float(w @ values**2)


def project(g, r: int, p: int, *, rtol: float = 1e-10, max_nodes: int = 512) -> Projection:
    """Hermite coefficients of g: (n, r) -> (n,) up to degree p, by quadrature converged in the
    number of nodes (module docstring)."""
    r = check_int("r", r, minimum=1)
    p = check_int("p", p, minimum=0)
    rtol = check_real("rtol", rtol, minimum=0.0, strict=True)
    max_nodes = check_int("max_nodes", max_nodes, minimum=p + 1)
    alphas = multi_indices(r, p)
    q = p + 1
    coefs, second = _rule(g, r, q, alphas)
    change = math.inf
    while True:
        q_next = min(2 * q, max_nodes)
        if q_next == q:
            raise NumericalError(
                f"projection: not converged to rtol = {rtol:g} with max_nodes = {max_nodes} nodes "
                f"per axis (last change {change:.3g}); g may be too rough or grow too fast"
            )
        new, second_new = _rule(g, r, q_next, alphas)
        scale = math.sqrt(max(second_new, 1e-300))
        change = max(float(np.max(np.abs(new - coefs))), abs(second_new - second) / scale) / scale
        coefs, second, q = new, second_new, q_next
        if change <= rtol:
            break
    coefs = np.where(np.abs(coefs) < rtol * scale, 0.0, coefs)
    left = second - float(np.sum(coefs**2))
    return Projection(Head(alphas, coefs), second, max(left, 0.0), q, change)


def target_from_function(
    g, r: int, p: int, d: int, *, key: jax.Array, name: str = "callable", rtol: float = 1e-10
) -> tuple[Target, Projection]:
    """The degree-p projection of g as a Target on a random U (r, d), with its Projection report."""
    proj = project(g, r, p, rtol=rtol)
    d = check_int("d", d, minimum=r, bound=f"r (= {r})")
    return Target(proj.head, random_orthonormal_rows(r, d, key=key), name=name), proj
