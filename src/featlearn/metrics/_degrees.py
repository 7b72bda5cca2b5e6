"""Per-degree learned energy of a predictor (DESIGN section 6).

For a target f* = sum_i c_i phi_i(Ux), phi the target's orthonormal graded basis (``Target.basis``:
Hermite h_alpha on Gaussian inputs, its Gram-Schmidt on the sphere, where the grading is the
spherical-harmonic degree), the coefficients of a predictor f_hat are estimated on fresh test points:

    c_hat_i = mean_j f_hat(x_j) phi_i(U x_j),

and each degree k <= p reports the learned fraction 1 - sum_{deg i = k} (c_hat_i - c_i)^2 /
sum_{deg i = k} c_i^2, so 1 means "learned", 0 "missed" (and < 0 "made worse"). The energy of f_hat
outside these terms, E f_hat^2 - sum_i c_hat_i^2 (phi_0 = 1, so c_hat_0^2 is DESIGN's "mean^2"),
holds its degrees > p and its dependence on directions outside span(U). Together they split the
excess risk: E(f_hat - f*)^2 = sum_i (c_hat_i - c_i)^2 + outside energy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import NumericalError, check_int
from featlearn.targets import Target

__all__ = ["DegreeReport", "degree_energies"]


@dataclass(frozen=True)
class DegreeReport:
    """Per-degree learned energy of a predictor, estimated on ``n_test`` fresh points.

    Attributes
    ----------
    learned_fraction : per degree k = 0..p, 1 - sum_k (c_hat - c)^2 / sum_k c^2; None where the
        target has no energy in degree k
    coefficients, target_coefficients, stderr : (K,), c_hat, c and the Monte-Carlo standard error
        of each c_hat (std of f_hat phi_i / sqrt(n_test))
    degrees : (K,), degree of each basis function (Hermite or spherical-harmonic, see ``inputs``)
    outside_energy : E f_hat^2 - sum_i c_i(f_hat)^2, estimated without the sum_i stderr_i^2 bias
        that squaring c_hat adds; ``outside_stderr`` its standard error (delta method)
    """

    learned_fraction: tuple[float | None, ...]
    coefficients: np.ndarray
    target_coefficients: np.ndarray
    stderr: np.ndarray
    degrees: np.ndarray
    outside_energy: float
    outside_stderr: float
    n_test: int
    inputs: str

    def to_record(self) -> dict[str, Any]:
        """Flat JSON-safe fields (lists indexed by degree; None where the target has no energy)."""
        p = len(self.learned_fraction) - 1
        se = [float(np.sqrt(np.sum(self.stderr[self.degrees == k] ** 2))) for k in range(p + 1)]
        return {
            "learned_fraction": list(self.learned_fraction),
            "coefficient_stderr_per_degree": se,  # sqrt(sum of squared stderr over the degree)
            "outside_energy": self.outside_energy,
            "outside_stderr": self.outside_stderr,
            "degree_n_test": self.n_test,
            "degree_inputs": self.inputs,
        }


class _Sums:
    """Running sums over test blocks: F = f_hat values, Phi = basis values (float64)."""

    def __init__(self, K: int) -> None:
        self.n, self.f2, self.f4 = 0, 0.0, 0.0
        self.f_phi, self.f3_phi, self.f2_phiphi = np.zeros(K), np.zeros(K), np.zeros((K, K))

    def add(self, F: np.ndarray, Phi: np.ndarray) -> None:
        FPhi = F[:, None] * Phi
        self.n += len(F)
        self.f2 += float(F @ F)
        self.f4 += float(np.sum(F**4))
        self.f_phi += FPhi.sum(0)
        self.f3_phi += (F**2) @ FPhi
        self.f2_phiphi += FPhi.T @ FPhi


def _predict_block(predict, X) -> np.ndarray:
    F = np.asarray(predict(X), dtype=np.float64)
    if F.shape != (X.shape[0],):
        raise NumericalError(
            f"degree energies: predict must return shape ({X.shape[0]},); got {F.shape}"
        )
    if not np.isfinite(F).all():
        raise NumericalError("degree energies: predictions hold NaN or inf")
    return F


def _fractions(c_hat, c, degrees, p) -> tuple[float | None, ...]:
    total = max(float(c @ c), 1e-300)
    out: list[float | None] = []
    for k in range(p + 1):
        sel = degrees == k
        energy = float(c[sel] @ c[sel])
        # "no energy" relative to the whole target: exact zeros, or round-off of the sphere basis
        out.append(
            None
            if energy <= 1e-14 * total
            else 1.0 - float(np.sum((c_hat[sel] - c[sel]) ** 2)) / energy
        )
    return tuple(out)


def _outside(s: _Sums, c_hat, stderr) -> tuple[float, float]:
    """E f^2 - sum c^2, debiased (E c_hat_i^2 = c_i^2 + stderr_i^2), and its delta-method error:
    per point psi = F^2 - 2 F (c_hat . phi), whose mean the estimate linearises to."""
    n = s.n
    value = s.f2 / n - float(c_hat @ c_hat) + float(stderr @ stderr)
    mean_psi = s.f2 / n - 2 * float(c_hat @ c_hat)
    mean_psi2 = (s.f4 - 4 * c_hat @ s.f3_phi + 4 * c_hat @ s.f2_phiphi @ c_hat) / n
    var = max(float(mean_psi2) - mean_psi**2, 0.0) * n / (n - 1)
    return value, float(np.sqrt(var / n))


def degree_energies(
    predict: Callable[[jnp.ndarray], jnp.ndarray],
    target: Target,
    *,
    key: jax.Array,
    n_test: int = 10_000,
    dtype: Any = jnp.float32,
    block: int = 4096,
) -> DegreeReport:
    """Per-degree learned energy of ``predict`` (X (rows, d) -> (rows,)) against ``target``.

    Test points: ``target.stream(n_test, key=key, block=block, dtype=dtype)`` without noise (the
    points ``excess_risk`` uses for the same key, n_test and dtype at the default block), streamed
    block by block; sums are accumulated in float64, so memory is O(block (d + K) + K^2).
    """
    n_test = check_int("n_test", n_test, minimum=2)
    block = check_int("block", block, minimum=1)
    basis, c = target.basis, target.coefficients
    U = np.asarray(target.U, dtype=np.float64)
    sums = _Sums(len(c))
    for X, _ in target.stream(n_test, key=key, noise=0.0, block=block, dtype=dtype):
        Phi = basis(np.asarray(X, dtype=np.float64) @ U.T)  # on the host: nothing to compile
        sums.add(_predict_block(predict, X), Phi)
    c_hat = sums.f_phi / n_test
    var = np.maximum(np.diag(sums.f2_phiphi) / n_test - c_hat**2, 0.0) * n_test / (n_test - 1)
    stderr = np.sqrt(var / n_test)
    outside, outside_se = _outside(sums, c_hat, stderr)
    return DegreeReport(
        learned_fraction=_fractions(c_hat, c, basis.degrees, target.p),
        coefficients=c_hat,
        target_coefficients=np.asarray(c, dtype=np.float64),
        stderr=stderr,
        degrees=basis.degrees,
        outside_energy=outside,
        outside_stderr=outside_se,
        n_test=n_test,
        inputs=target.inputs,
    )
