"""Multi-index polynomial targets f*(x) = g(Ux) with exact moments (DESIGN section 1)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError, check_int, check_real
from featlearn._jax import RANDOM_COMPILE, jit
from featlearn.targets._hermite import hermite_basis, multi_indices
from featlearn.targets._sampling import DataStream
from featlearn.targets._sphere import INPUTS, DegreeBasis, degree_basis

__all__ = ["Head", "Target", "TargetMoments", "random_orthonormal_rows"]


@dataclass(frozen=True)
class Head:
    """The link g = sum_alpha c_alpha h_alpha on R^r, stored as parallel arrays.

    Attributes
    ----------
    alphas : int array (K, r), distinct multi-indices
    coefs : float array (K,), the coefficients c_alpha
    """

    alphas: np.ndarray
    coefs: np.ndarray

    def __post_init__(self) -> None:
        alphas = np.asarray(self.alphas, dtype=np.int64)
        coefs = np.asarray(self.coefs, dtype=np.float64)
        if alphas.ndim != 2 or coefs.shape != (alphas.shape[0],):
            raise ConfigError(
                f"coefficient table must have alphas of shape (K, r) and coefs of shape (K,); "
                f"got {alphas.shape} and {coefs.shape}"
            )
        if (alphas < 0).any():
            raise ConfigError(f"multi-indices must be >= 0; got {alphas[(alphas < 0).any(1)][0]}")
        if not np.isfinite(coefs).all():
            raise ConfigError("coefficients must be finite")
        if len({tuple(a) for a in alphas}) != len(alphas):
            raise ConfigError("coefficient table lists a multi-index twice")
        object.__setattr__(self, "alphas", alphas)
        object.__setattr__(self, "coefs", coefs)

    @classmethod
    def from_terms(cls, r: int, terms: dict[tuple[int, ...], float]) -> Head:
        """Build a head from ``{alpha: c_alpha}``."""
        if not terms:
            raise ConfigError("a target needs at least one term")
        for alpha in terms:
            if len(alpha) != r:
                raise ConfigError(f"multi-index {alpha} must have length r = {r}")
        alphas = np.array(list(terms), dtype=np.int64).reshape(-1, r)
        return cls(alphas, np.array(list(terms.values()), dtype=np.float64))

    @property
    def r(self) -> int:
        return int(self.alphas.shape[1])

    @property
    def p(self) -> int:
        """Degree of g: the largest |alpha| with a non-zero coefficient."""
        degrees = self.alphas.sum(1)[self.coefs != 0]
        return int(degrees.max()) if degrees.size else 0

    def coef(self, alpha: tuple[int, ...]) -> float:
        hit = np.flatnonzero((self.alphas == np.asarray(alpha)).all(1))
        return float(self.coefs[hit[0]]) if hit.size else 0.0

    def __call__(self, z: jnp.ndarray) -> jnp.ndarray:
        """g(z) for z of shape (n, r); returns (n,)."""
        return hermite_basis(z, self.alphas) @ jnp.asarray(self.coefs, dtype=z.dtype)

    def to_dict(self) -> dict[str, Any]:
        return {
            "r": self.r,
            "terms": [
                {"alpha": [int(v) for v in a], "coef": float(c)}
                for a, c in zip(self.alphas, self.coefs, strict=True)
            ],
        }


@dataclass(frozen=True)
class TargetMoments:
    """Exact moments of f* under the target's input law, from the Hermite coefficients alone.

    ``mean``, ``second_moment``, ``variance`` and ``energy_per_degree`` are taken under the input law
    (``inputs``): on x ~ N(0, I_d), energy in degree k = sum_{|alpha| = k} c_alpha^2 (Hermite
    degree); on x uniform on sqrt(d) S^{d-1}, energy in degree k = squared norm of f*'s projection
    on the spherical harmonics of degree k (see ``featlearn.targets._sphere``). ``mean_gradient``,
    ``hessian`` and their rank and condition are always the Gaussian-law quantities E_{x~N(0,I)}
    grad f*, E grad^2 f* = U^T M U: they describe the coefficient table, and the theory's rank(H) = r
    assumption is stated for them.
    """

    mean: float
    second_moment: float
    variance: float
    energy_per_degree: tuple[float, ...]
    mean_gradient: np.ndarray  # (d,)  E grad f* = U^T (c_{e_k})_k
    hessian: np.ndarray  # (d, d)  E grad^2 f* = U^T M U
    hessian_rank: int
    hessian_condition: float  # max |eig| / min |eig| over the r eigenvalues of M (inf if rank < r)
    inputs: str = "gaussian"  # the law of x the first four fields refer to

    def energy_above(self, k: int) -> float:
        """Energy of f* in degrees > k (the kernel staircase level, DESIGN section 6)."""
        return float(sum(self.energy_per_degree[k + 1 :]))

    def summary(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "second_moment": self.second_moment,
            "variance": self.variance,
            "energy_per_degree": list(self.energy_per_degree),
            "mean_gradient_norm": float(np.linalg.norm(self.mean_gradient)),
            "hessian_rank": self.hessian_rank,
            "hessian_condition": self.hessian_condition,
            "inputs": self.inputs,
        }


@partial(jit, static_argnames=("shape",), compiler_options=RANDOM_COMPILE)
def _gaussian(key, *, shape):
    return jax.random.normal(key, shape, dtype=jnp.float64)


def random_orthonormal_rows(r: int, d: int, *, key: jax.Array) -> np.ndarray:
    """U in R^{r x d} with orthonormal rows, uniformly distributed (QR of a Gaussian, signs fixed)."""
    g = np.asarray(_gaussian(key, shape=(d, r)))
    q, rr = np.linalg.qr(g)
    return (q * np.sign(np.diag(rr))).T.copy()


@dataclass(frozen=True)
class Target:
    """f*(x) = g(Ux) and labels y = f*(x) + sqrt(noise) * xi, x ~ N(0, I_d) or on the sphere.

    Parameters
    ----------
    head : Head, the link g in the Hermite basis (the same table on both input laws)
    U : array (r, d) with orthonormal rows
    name : str, for display and records
    inputs : "gaussian" (default), x ~ N(0, I_d); or "sphere", x = sqrt(d) g/|g| with g ~ N(0, I_d),
        uniform on the sphere of radius sqrt(d) (needs d > r). On the sphere ``moments`` and
        ``basis`` refer to spherical-harmonic degrees (DESIGN section 6's kernel theory lives there).
    """

    head: Head
    U: np.ndarray
    name: str = "custom"
    inputs: str = "gaussian"
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        U = np.asarray(self.U, dtype=np.float64)
        if U.ndim != 2 or U.shape[0] != self.head.r:
            raise ConfigError(f"U must have shape (r = {self.head.r}, d); got {U.shape}")
        if U.shape[1] < U.shape[0]:
            raise ConfigError(f"d must be an integer >= r (= {U.shape[0]}); got {U.shape[1]}")
        if not np.allclose(U @ U.T, np.eye(U.shape[0]), atol=1e-8):
            raise ConfigError("U must have orthonormal rows")
        if self.inputs not in INPUTS:
            raise ConfigError(f"inputs must be one of {list(INPUTS)}; got {self.inputs!r}")
        if self.inputs == "sphere" and U.shape[1] <= U.shape[0]:
            raise ConfigError(
                f"d must be an integer >= r + 1 (= {U.shape[0] + 1}) for sphere inputs; got {U.shape[1]}"
            )
        object.__setattr__(self, "U", U)

    @property
    def r(self) -> int:
        return self.head.r

    @property
    def d(self) -> int:
        return int(self.U.shape[1])

    @property
    def p(self) -> int:
        return self.head.p

    def f(self, X: jnp.ndarray) -> jnp.ndarray:
        """Noiseless f*(X) for X of shape (n, d); returns (n,) in X's dtype."""
        return self.head(X @ jnp.asarray(self.U, dtype=X.dtype).T)

    @cached_property
    def basis(self) -> DegreeBasis:
        """Orthonormal basis (under ``inputs``) of the polynomials of degree <= p in z = Ux, graded:
        h_alpha on Gaussian inputs, Gram-Schmidt of the h_alpha on the sphere."""
        return degree_basis(self.r, self.p, self.d, self.inputs)

    @cached_property
    def coefficients(self) -> np.ndarray:
        """f*'s coefficients on ``basis`` (K,): f*(x) = sum_i coefficients[i] basis(Ux)[i]."""
        alphas = multi_indices(self.r, self.p)
        hermite = np.array([self.head.coef(tuple(a)) for a in alphas])
        return self.basis.coefficients(hermite)

    def _law_moments(self) -> tuple[float, float, tuple[float, ...]]:
        """(mean, E f*^2, energy per degree) under the input law."""
        h = self.head
        if self.inputs == "gaussian":
            degrees = h.alphas.sum(1)
            energy = tuple(float((h.coefs[degrees == k] ** 2).sum()) for k in range(h.p + 1))
            return h.coef((0,) * self.r), float((h.coefs**2).sum()), energy
        b, degrees = self.coefficients, self.basis.degrees
        energy = tuple(float((b[degrees == k] ** 2).sum()) for k in range(self.p + 1))
        return float(b[0]), float((b**2).sum()), energy

    @cached_property
    def moments(self) -> TargetMoments:
        """Exact moments; see DESIGN section 1 for each formula and ``TargetMoments`` for the laws."""
        h, U, r = self.head, self.U, self.r
        mean, second, energy = self._law_moments()
        eye = np.eye(r, dtype=np.int64)
        grad = U.T @ np.array([h.coef(tuple(e)) for e in eye])
        M = np.empty((r, r))
        for k in range(r):
            for l in range(r):
                if k == l:
                    M[k, k] = math.sqrt(2.0) * h.coef(tuple(2 * eye[k]))
                else:
                    M[k, l] = h.coef(tuple(eye[k] + eye[l]))
        eig = np.abs(np.linalg.eigvalsh(M))
        tol = max(eig.max(initial=0.0), 1.0) * 1e-10
        rank = int((eig > tol).sum())
        cond = float(eig.max() / eig.min()) if rank == r else math.inf
        return TargetMoments(
            mean=mean,
            second_moment=second,
            variance=second - mean**2,
            energy_per_degree=energy,
            mean_gradient=grad,
            hessian=U.T @ M @ U,
            hessian_rank=rank,
            hessian_condition=cond,
            inputs=self.inputs,
        )

    @property
    def satisfies_rank_assumption(self) -> bool:
        """The theory assumes rank(E grad^2 f*) = r; a target that violates it is flagged, not refused."""
        return self.moments.hessian_rank == self.r

    def stream(
        self,
        n: int,
        *,
        key: jax.Array,
        noise: float = 0.0,
        block: int = 4096,
        dtype: Any = jnp.float32,
    ) -> DataStream:
        """A re-iterable, chunked stream of n labelled samples, determined by ``key``."""
        n = check_int("n", n, minimum=1)
        noise = check_real("noise", noise, minimum=0.0)
        return DataStream(self, n=n, key=key, noise=noise, block=block, dtype=jnp.dtype(dtype))

    def sample(
        self, n: int, *, key: jax.Array, noise: float = 0.0, dtype: Any = jnp.float32
    ) -> tuple[jnp.ndarray, jnp.ndarray]:
        """n labelled samples (X of shape (n, d), y of shape (n,)); equal to ``stream(...)`` joined."""
        return self.stream(n, key=key, noise=noise, dtype=dtype).materialize()

    @cached_property
    def exponents(self) -> Any:
        """Learning exponents of the head (information exponents, leap, tensor ranks): see
        ``featlearn.targets.learning_exponents``."""
        from featlearn.targets._exponents import learning_exponents

        return learning_exponents(self.head)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "d": self.d, "r": self.r, "p": self.p,
                **self.moments.summary(), "exponents": self.exponents.summary()}  # fmt: skip
