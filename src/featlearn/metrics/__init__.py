"""Metrics (DESIGN section 6): excess risk, subspace alignment, per-degree learned energy, and the
learning-curve theory of dot-product kernel ridge on the sphere."""

from featlearn.metrics._degrees import DegreeReport, degree_energies
from featlearn.metrics._kernel_theory import (
    effective_ridge,
    eigenlearning_risk,
    gegenbauer,
    gegenbauer_eigenvalues,
    harmonic_multiplicity,
    kernel_profile,
    kernel_theory_risk,
)
from featlearn.metrics._metrics import (
    RiskReport,
    alignment,
    excess_risk,
    principal_angles,
)

__all__ = [
    "DegreeReport",
    "RiskReport",
    "alignment",
    "degree_energies",
    "effective_ridge",
    "eigenlearning_risk",
    "excess_risk",
    "gegenbauer",
    "gegenbauer_eigenvalues",
    "harmonic_multiplicity",
    "kernel_profile",
    "kernel_theory_risk",
    "principal_angles",
]

from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
