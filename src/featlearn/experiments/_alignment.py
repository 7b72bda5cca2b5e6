"""Alignment: how much of the learned first layer lies in span(U), vs n and d (DESIGN section 7).

A fit cell (same config, same seed, same data as ``run_fit``) of a network learner, recording
besides the risk the alignment ||W U^T||_F^2 / ||W||_F^2, the principal angles between the top-r
right singular vectors of W and span(U), and the singular-value spectrum of W, whose drop after
the r-th value shows the learned low-dimensional structure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from featlearn._configs import FitConfig, validate_alignment_config
from featlearn._errors import ConfigError
from featlearn.experiments._fit import fit_cell

__all__ = ["run_alignment", "spectrum_summary", "validate_alignment_config"]


def spectrum_summary(W, r: int, extra: int = 2) -> dict[str, Any]:
    """Singular values of W (m, d) against the target rank r.

    Returns ``spectrum`` = s_i / s_1 for the top min(r + extra, d) values, ``spectral_gap`` =
    s_{r+1} / s_r (near 0: W is close to rank r; NaN when d = r) and ``top_r_energy`` =
    sum_{i<=r} s_i^2 / sum_i s_i^2.
    """
    s = np.linalg.svd(np.asarray(W, np.float64), compute_uv=False)
    if s[0] == 0:
        raise ConfigError("W must not be zero to summarise its spectrum")
    k = min(r + extra, s.size)
    return {
        "spectrum": [float(v) for v in s[:k] / s[0]],
        "spectral_gap": float(s[r] / s[r - 1]) if s.size > r else float("nan"),
        "top_r_energy": float(np.sum(s[:r] ** 2) / np.sum(s**2)),
    }


def run_alignment(config: FitConfig | dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """Fit a network learner and record its risk, alignment, angles and spectrum.

    The fit is ``run_fit``'s own (``fit_cell``): the same target, data and initialisation as the
    fit cell with the same config and seed. Record: run_fit's keys plus max_angle, spectrum,
    spectral_gap, top_r_energy and r.
    """
    cfg = validate_alignment_config(config)
    record, learner, target = fit_cell(cfg, seed=seed)
    return {
        **record,
        "max_angle": max(record["principal_angles"]),
        **spectrum_summary(learner.diagnostics()["W"], target.r),
        "r": target.r,
    }


from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
