"""Orthonormal bases of functions of z = Ux, per degree, on Gaussian and on spherical inputs.

On x ~ N(0, I_d) the basis of degree-k functions of z is the Hermite basis h_alpha, |alpha| = k.

On the sphere, x = sqrt(d) g/|g| with g ~ N(0, I_d), the natural grading is by spherical-harmonic
degree: L^2(sphere) = H_0 + H_1 + ..., H_k the harmonic polynomials of degree k restricted to the
sphere, so "energy in degree k" is the squared norm of the projection on H_k. For f*(x) = g(Ux):

* f* is invariant under the rotations O(d - r) that fix span(U), and so is its projection on each
  H_k (the projections commute with rotations). An O(d - r)-invariant polynomial of degree <= k in
  x is a polynomial in z and |x_perp|^2 = d - |z|^2, i.e. on the sphere a polynomial in z of
  degree <= k. So the invariant part of H_0 + ... + H_k is V_k = {polynomials in z of degree <= k}.
* The moments of z on the sphere are closed-form: z = sqrt(d) (u_1..u_r), u uniform on S^{d-1},
  E prod z_i^{2 m_i} = d^{|m|} prod (2 m_i - 1)!! / (d (d + 2) ... (d + 2|m| - 2)), odd ones 0.
* Gram-Schmidt of the h_alpha (graded, i.e. the Cholesky factor L of their exact Gram matrix
  G = L L^T under the sphere law) then gives an orthonormal basis phi = L^{-1} h whose degree-k
  members span V_k minus V_{k-1}: the invariant part of H_k. Starting from h_alpha rather than
  z^alpha gives the same phi (h_alpha = z^alpha/sqrt(alpha!) + lower degrees, and Gram-Schmidt
  ignores positive scalings), keeps G well conditioned, and makes phi -> h as d -> infinity.

A target g = sum_alpha c_alpha h_alpha has coefficients b = L^T c on phi; its energy in harmonic
degree k is the sum of b_i^2 over the phi_i of degree k. Everything is exact (no sampling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from featlearn._errors import NumericalError
from featlearn.targets._hermite import hermite_basis, multi_indices

__all__ = ["INPUTS", "DegreeBasis", "degree_basis", "sphere_moment"]

INPUTS = ("gaussian", "sphere")


@dataclass(frozen=True)
class DegreeBasis:
    """An orthonormal basis phi_1..phi_K of the polynomials of degree <= p in z = Ux (R^r).

    Attributes
    ----------
    alphas : int array (K, r), the multi-indices |alpha| <= p, graded (``multi_indices(r, p)``)
    transform : float array (K, K), lower triangular: phi(z) = transform @ h(z), h the Hermite
        basis h_alpha(z) in the order of ``alphas``; the identity on Gaussian inputs
    inputs : "gaussian" or "sphere", the input law under which E[phi_i phi_j] = delta_ij

    phi_i has degree ``degrees[i] = |alphas[i]|`` (Hermite degree on Gaussian inputs, spherical-
    harmonic degree on the sphere).
    """

    alphas: np.ndarray
    transform: np.ndarray
    inputs: str

    @property
    def degrees(self) -> np.ndarray:
        return self.alphas.sum(1)

    def __call__(self, z: jnp.ndarray) -> jnp.ndarray:
        """phi(z) for z of shape (n, r); returns (n, K) in z's dtype (NumPy for NumPy z)."""
        h = hermite_basis(z, self.alphas)
        if self.inputs == "gaussian":
            return h
        xp = np if isinstance(z, np.ndarray) else jnp
        return h @ xp.asarray(self.transform.T, dtype=z.dtype)

    def coefficients(self, hermite: np.ndarray) -> np.ndarray:
        """Coefficients b on phi of g = sum_i hermite[i] h_{alphas[i]}: h = L phi with
        L = transform^{-1}, so b = L^T c, shape (K,)."""
        return np.linalg.solve(self.transform.T, np.asarray(hermite, dtype=np.float64))


def sphere_moment(exponent, d: int) -> float:
    """E prod_i z_i^{exponent_i} for z = sqrt(d) (u_1..u_r), u uniform on S^{d-1} (closed form)."""
    e = np.asarray(exponent, dtype=np.int64)
    if (e % 2).any():
        return 0.0
    half = e // 2
    value = math.prod(math.prod(range(2 * m - 1, 0, -2)) for m in half)  # prod (2 m_i - 1)!!
    # d^{|m|} / (d (d + 2) ... (d + 2|m| - 2)) as a product of ratios <= 1: no overflow in d
    return value * math.prod(d / (d + 2 * j) for j in range(int(half.sum())))


def _hermite_to_monomials(alphas: np.ndarray) -> np.ndarray:
    """A (K, K): h_{alphas[i]}(z) = sum_j A[i, j] z^{alphas[j]} (the monomials use the same list)."""
    p = int(alphas.max(initial=0))
    # 1-D: h_k = He_k / sqrt(k!), monomial coefficients from numpy's HermiteE conversion
    one_d = [
        np.polynomial.hermite_e.herme2poly([0.0] * k + [1.0]) / math.sqrt(math.factorial(k))
        for k in range(p + 1)
    ]
    index = {tuple(a): j for j, a in enumerate(alphas)}
    A = np.zeros((len(alphas), len(alphas)))
    for i, alpha in enumerate(alphas):
        for gamma, j in index.items():
            if all(g <= a for g, a in zip(gamma, alpha, strict=True)):
                A[i, j] = math.prod(one_d[a][g] for a, g in zip(alpha, gamma, strict=True))
    return A


def _sphere_gram(alphas: np.ndarray, d: int) -> np.ndarray:
    """G[i, j] = E h_{alpha_i}(z) h_{alpha_j}(z) under x uniform on sqrt(d) S^{d-1}."""
    A = _hermite_to_monomials(alphas)
    K = len(alphas)
    M = np.empty((K, K))
    for i in range(K):
        for j in range(i, K):
            M[i, j] = M[j, i] = sphere_moment(alphas[i] + alphas[j], d)
    return A @ M @ A.T


def degree_basis(r: int, p: int, d: int, inputs: str) -> DegreeBasis:
    """The orthonormal graded basis of polynomials of degree <= p in z = Ux under ``inputs``.

    On the sphere it needs d > r: for d = r, |z|^2 = d and the z-monomials are dependent.
    """
    alphas = multi_indices(r, p)
    if inputs == "gaussian":
        return DegreeBasis(alphas, np.eye(len(alphas)), inputs)
    G = _sphere_gram(alphas, d)
    try:
        L = np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        raise NumericalError(
            f"sphere basis: the Gram matrix of the degree <= {p} polynomials in z (r = {r}, "
            f"d = {d}) is not positive definite"
        ) from None
    transform = np.linalg.solve(L, np.eye(len(alphas)))
    return DegreeBasis(alphas, np.tril(transform), inputs)
