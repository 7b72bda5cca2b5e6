"""Metrics: excess risk on fresh noiseless points and subspace alignment (DESIGN section 6)."""

from featlearn.metrics._metrics import (
    RiskReport,
    alignment,
    excess_risk,
    principal_angles,
)

__all__ = ["RiskReport", "alignment", "excess_risk", "principal_angles"]
