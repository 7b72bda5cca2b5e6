"""Probabilists' Hermite polynomials and the orthonormal multivariate basis.

He_0 = 1, He_1 = z, He_{k+1} = z He_k - k He_{k-1}; h_k = He_k / sqrt(k!) is orthonormal under
N(0, 1), and h_alpha(z) = prod_k h_{alpha_k}(z_k) is orthonormal under N(0, I_r) (DESIGN section 1).
"""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
import numpy as np

__all__ = ["hermite_normalized", "hermite_basis", "multi_indices"]


def _xp(z):
    """NumPy for NumPy input (evaluated on the host, nothing compiled), jax.numpy otherwise (JAX
    arrays and tracers inside jitted code)."""
    return np if isinstance(z, np.ndarray) else jnp


def hermite_normalized(z: jnp.ndarray, p: int) -> jnp.ndarray:
    """Orthonormal Hermite values h_0..h_p at every entry of ``z``.

    Parameters
    ----------
    z : array, any shape S (a NumPy array gives a NumPy result, a JAX array a JAX one)
    p : int, highest degree (>= 0)

    Returns
    -------
    array of shape S + (p + 1,), entry k equal to He_k(z) / sqrt(k!).
    """
    xp = _xp(z)
    # Recurrence on the normalised polynomials directly keeps values O(1) for large k:
    # h_{k+1} = (z h_k - sqrt(k) h_{k-1}) / sqrt(k + 1).
    values = [xp.ones_like(z)]
    if p >= 1:
        values.append(z)
    for k in range(1, p):
        values.append((z * values[k] - math.sqrt(k) * values[k - 1]) / math.sqrt(k + 1))
    return xp.stack(values, axis=-1)


def multi_indices(r: int, p: int, *, degree: int | None = None) -> np.ndarray:
    """All multi-indices alpha in N^r with |alpha| <= p (or == degree), graded then lexicographic.

    Returns an int array of shape (K, r).
    """
    degrees = range(p + 1) if degree is None else [degree]
    rows = [
        alpha
        for k in degrees
        for alpha in sorted(itertools.product(range(k + 1), repeat=r), reverse=True)
        if sum(alpha) == k
    ]
    return np.asarray(rows, dtype=np.int64).reshape(-1, r)


def hermite_basis(z: jnp.ndarray, alphas: np.ndarray) -> jnp.ndarray:
    """Evaluate h_alpha(z) for each row of ``z`` (n, r) and each multi-index (K, r): shape (n, K),
    a NumPy array for NumPy ``z`` (no compiled programs), a JAX array otherwise."""
    xp = _xp(z)
    alphas = np.asarray(alphas)
    p = int(alphas.max()) if alphas.size else 0
    h = hermite_normalized(z, p)  # (n, r, p + 1)
    r = alphas.shape[1]
    # gather h[:, k, alpha_k] for every k, then multiply over k
    per_dim = xp.stack([h[:, k, alphas[:, k]] for k in range(r)], axis=0)  # (r, n, K)
    return xp.prod(per_dim, axis=0)
