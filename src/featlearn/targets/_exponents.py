"""Learning exponents of a target, exact from its Hermite table (issue 12).

For g = sum_alpha c_alpha h_alpha on R^r (f*(x) = g(Ux)), the k-th Hermite tensor is
T_k = E[grad^k g(z)], a symmetric (r,)*k tensor with T_k[i_1..i_k] = sqrt(alpha!) c_alpha, alpha the
multiplicities of (i_1..i_k) (Stein's lemma: E[d^beta h_alpha] = sqrt(alpha!) delta_{alpha beta}).
In x, E grad^k f* = T_k contracted with U on every mode; ranks and exponents are the same.

- Information exponent along a unit u in R^r (the direction U^T u of span(U)): the smallest k >= 1
  with E[f*(x) h_k(u.z)] = <T_k, u^{(x)k}> / sqrt(k!) != 0 (Ben Arous, Gheissari, Jagannath 2021);
  inf if there is none (f* does not depend on that direction alone). Its minimum over directions,
  also the value at almost every u, is the smallest k >= 1 with T_k != 0.
- Rank of T_k's span: the dimension of the span of the vectors T_k[:, i_2, .., i_k] (the column
  space of its mode-1 unfolding); k = 2 gives rank(H).
- Leap complexity (Abbe, Boix-Adsera, Misiakiewicz, COLT 2023). ``basis_leap``: their definition on
  the Hermite support in the target's own coordinates, min over orderings of the support of the
  largest degree on coordinates not covered by the earlier elements. It depends on the basis: for
  h_2(v_1.z) + h_3(v_2.z) written in a generic rotated basis every coordinate carries degree-2
  terms, and it drops from 3 to 2. ``leap_complexity``: the same staircase without a basis: with V
  the span learned so far, the next step is the smallest k such that some E[d_V^{m-k} d_perp^k g]
  (m >= k, perp = V's orthogonal complement) is non-zero, and V grows by the span of those
  tensors' first mode. The leap is the largest k taken; it is invariant under rotations of z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from featlearn._errors import ConfigError
from featlearn.targets._target import Head

__all__ = [
    "LearningExponents",
    "basis_leap",
    "hermite_tensor",
    "information_exponent",
    "leap_complexity",
    "learning_exponents",
    "tensor_rank",
]

MAX_TENSOR_ENTRIES = 10**7
TOL = 1e-10  # relative to the norm of the coefficients: what counts as zero


def _tol(head: Head) -> float:
    return TOL * max(float(np.linalg.norm(head.coefs)), 1e-300)


def hermite_tensor(head: Head, k: int) -> np.ndarray:
    """T_k = E[grad^k g], shape (r,)*k (a scalar array for k = 0)."""
    r = head.r
    if r**k > MAX_TENSOR_ENTRIES:
        raise ConfigError(f"r^k must be <= {MAX_TENSOR_ENTRIES} to form T_k; got r = {r}, k = {k}")
    lookup = {tuple(a): c for a, c in zip(head.alphas.tolist(), head.coefs, strict=True)}
    index = np.indices((r,) * k).reshape(k, -1).T
    counts = np.stack([np.bincount(row, minlength=r) for row in index]) if k else np.zeros((1, r))
    values = [
        lookup.get(tuple(int(v) for v in a), 0.0)
        * math.sqrt(math.prod(math.factorial(int(v)) for v in a))
        for a in counts
    ]
    return np.asarray(values, dtype=np.float64).reshape((r,) * k)


def _tensors(head: Head) -> dict[int, np.ndarray]:
    return {k: hermite_tensor(head, k) for k in range(1, head.p + 1)}


def _range(A: np.ndarray, tol: float) -> np.ndarray:
    """Orthonormal basis (r, s) of the column space of A (r, ...) unfolded along mode 1."""
    A = A.reshape(A.shape[0], -1)
    if A.size == 0:
        return np.zeros((A.shape[0], 0))
    u, s, _ = np.linalg.svd(A, full_matrices=False)
    return u[:, s > tol]


def tensor_rank(head: Head, k: int) -> int:
    """Dimension of the span of T_k (its mode-1 unfolding's rank); k = 2 is rank(H)."""
    return int(_range(hermite_tensor(head, k), _tol(head)).shape[1]) if k >= 1 else 0


def information_exponent(head: Head, u) -> float:
    """Smallest k >= 1 with <T_k, u^{(x)k}> != 0 for the direction u (r,) (normalised here), or
    math.inf; u = e_i is the direction of row i of U."""
    u = np.asarray(u, dtype=np.float64)
    if u.shape != (head.r,) or not np.linalg.norm(u) > 0:
        raise ConfigError(f"u must be a non-zero vector of length r = {head.r}; got {u!r}")
    u = u / np.linalg.norm(u)
    for k in range(1, head.p + 1):
        T = hermite_tensor(head, k)
        for _ in range(k):
            T = T @ u
        if abs(float(T)) / math.sqrt(math.factorial(k)) > _tol(head):
            return k
    return math.inf


def _minimum_information_exponent(tensors: dict[int, np.ndarray], tol: float) -> float:
    return next((k for k, T in tensors.items() if np.abs(T).max() > tol), math.inf)


def _contract(T: np.ndarray, k: int, P: np.ndarray, V: np.ndarray) -> np.ndarray:
    """T's first k modes projected by P (r, r), its other modes contracted with V (r, s).
    Each tensordot consumes the leading mode and appends its image last, so after T.ndim of them
    the modes are back in their order."""
    for mode in range(T.ndim):
        T = np.tensordot(T, P if mode < k else V, axes=([0], [0]))
    return T


def leap_steps(head: Head) -> list[tuple[int, int]]:
    """The basis-free staircase: (k, dimensions gained) per step, in order (module docstring)."""
    tensors, tol, r = _tensors(head), _tol(head), head.r
    V, steps = np.zeros((r, 0)), []
    while V.shape[1] < r:
        P = np.eye(r) - V @ V.T
        step = None
        for k in range(1, head.p + 1):
            blocks = [
                _contract(tensors[m], k, P, V).reshape(r, -1)
                for m in range(k, head.p + 1)
                if m == k or V.shape[1] > 0
            ]
            new = _range(np.concatenate(blocks, axis=1), tol) if blocks else np.zeros((r, 0))
            if new.shape[1]:
                step = (k, new)
                break
        if step is None:
            break  # the remaining directions do not enter f*
        V = _range(np.concatenate([V, step[1]], axis=1), 1e-8)
        steps.append((step[0], int(step[1].shape[1])))
    return steps


def leap_complexity(head: Head) -> int:
    """The largest step of ``leap_steps`` (0 for a constant target)."""
    return max((k for k, _ in leap_steps(head)), default=0)


def basis_leap(head: Head) -> int:
    """Abbe et al.'s leap of the Hermite support in the target's coordinates: greedily add the
    multi-index with the fewest degrees on uncovered coordinates (greedy is optimal: covering more
    coordinates never raises a later cost)."""
    tol = _tol(head)
    support = [a for a, c in zip(head.alphas, head.coefs, strict=True) if abs(c) > tol and a.any()]
    covered, leap = np.zeros(head.r, dtype=bool), 0
    while support:
        costs = [int(a[~covered].sum()) for a in support]
        i = int(np.argmin(costs))
        leap = max(leap, costs[i])
        covered |= support.pop(i) > 0
    return leap


@dataclass(frozen=True)
class LearningExponents:
    """A target's exponents for gradient methods (see the module docstring)."""

    information_exponent_min: float
    information_exponent_axes: tuple[float, ...]  # along each row of U
    leap_complexity: int
    basis_leap: int
    leap_steps: tuple[tuple[int, int], ...]
    hessian_rank: int
    tensor_ranks: tuple[int, ...]  # rank of T_k's span, k = 1..p

    def summary(self) -> dict[str, Any]:
        return {
            "information_exponent_min": self.information_exponent_min,
            "information_exponent_axes": list(self.information_exponent_axes),
            "leap_complexity": self.leap_complexity,
            "basis_leap": self.basis_leap,
            "leap_steps": [list(s) for s in self.leap_steps],
            "hessian_rank": self.hessian_rank,
            "tensor_ranks": list(self.tensor_ranks),
        }


def learning_exponents(head: Head) -> LearningExponents:
    """All exponents of the head g (``Target.head``)."""
    tensors, tol = _tensors(head), _tol(head)
    ranks = tuple(int(_range(tensors[k], tol).shape[1]) for k in range(1, head.p + 1))
    return LearningExponents(
        information_exponent_min=_minimum_information_exponent(tensors, tol),
        information_exponent_axes=tuple(information_exponent(head, e) for e in np.eye(head.r)),
        leap_complexity=leap_complexity(head),
        basis_leap=basis_leap(head),
        leap_steps=tuple(leap_steps(head)),
        hessian_rank=ranks[1] if len(ranks) > 1 else 0,
        tensor_ranks=ranks,
    )
