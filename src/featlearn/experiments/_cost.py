"""Expected cost of a cell, in rough floating-point operations, from its config alone.

A sweep's ETA weighs finished and remaining cells by it, and ``--largest-first`` orders cells by
it (DESIGN section 8). Only ratios between cells matter: the runtime turns costs into seconds with
a rate measured on the cells that finish, so the constants here need only be right within a small
factor across learners, while the growth in n, d and width is the point: exact kernel ridge
~ L n^3 / 3 (+ n^2 d for the kernel), pcg ~ n^2 (d + CG passes), Nyström ~ n M (d + passes) + L M^3,
network learners ~ n m d (one or a few passes), full training ~ epochs n m d.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from featlearn.learners import Learner
from featlearn.solvers import pcg_rank

__all__ = ["CELL_OVERHEAD", "alignment_cost", "fit_cost", "learner_cost", "transfer_cost"]

CELL_OVERHEAD = 1e8  # sampling, compiling and bookkeeping of any cell, in the same units
_PCG_PASSES = 60  # typical CG products of a pcg solve (two refinement rounds)


def _kernel_pairs(rows: int, cols: int, d: int) -> float:
    """Kernel evaluations: a dot product (2d) and an arc-cosine or exponential (~30) per pair."""
    return float(rows) * cols * (2 * d + 30)


def _kernel_ridge_cost(cfg: Any, n: int, d: int, n_val: int, n_test: int) -> float:
    solver, L = cfg.solver_for(n, n_val), cfg.n_lambdas
    if solver == "exact":
        return _kernel_pairs(n + n_val + n_test, n, d) + L * n**3 / 3
    if solver == "pcg":
        rank = cfg.rank if cfg.rank is not None else pcg_rank(n)
        solve = n * rank**2 + _PCG_PASSES * 2.0 * n * n
        return _kernel_pairs(n / 2 + n_val + n_test, n, d) + solve
    M = cfg.centers if cfg.centers is not None else min(n, 2048)
    passes = cfg.cg_max_iter
    return _kernel_pairs(n * (1 + passes) + n_val + n_test, M, d) + L * M**3


def _network_cost(cfg: Any, n: int, d: int, n_val: int, n_test: int) -> float:
    """Layer-wise, random features, giant step: a few passes of n m d, the m x m Gram (n m^2) and
    its eigendecomposition (~10 m^3), predictions on the validation and test points."""
    m = cfg.width
    head = 2.0 * n * m * getattr(cfg, "gd_steps", 0) if getattr(cfg, "head", "") == "gd" else 0.0
    return 6.0 * n * m * d + 2.0 * n * m * m + 10.0 * m**3 + 2.0 * (n_val + n_test) * m * d + head


def learner_cost(learner: Learner, n: int, d: int, n_val: int, n_test: int) -> float:
    """Expected flops of fitting ``learner`` on n samples in dimension d and predicting on
    n_val + n_test points (see the module docstring for the model of each learner)."""
    cfg = learner.config
    if learner.name == "kernel-ridge":
        return _kernel_ridge_cost(cfg, n, d, n_val, n_test)
    if learner.name == "rfm":  # per AGOP iteration: an n x n kernel in the M-norm and its solves
        T = cfg.iterations + 1
        return T * (_kernel_pairs(n + n_val, n, d) + cfg.n_lambdas * n**3 / 3 + n * d * d)
    if learner.name == "full-training":  # forward and backward: ~6 n m d per epoch
        return cfg.max_epochs * (6.0 * n * cfg.width * d + 2.0 * n_val * cfg.width * d)
    if learner.is_network:
        return _network_cost(cfg, n, d, n_val, n_test)
    return 2.0 * (n + n_val + n_test) * d  # an unknown learner: at least a pass over the data


def fit_cost(config: Mapping[str, Any]) -> float:
    """Expected cost of a ``fit`` cell from its resolved config (the sweep's cell config)."""
    from featlearn.experiments._fit import validate_fit_config

    cfg = validate_fit_config(dict(config), source="cost of a fit cell")
    n_val = cfg.n_val if cfg.validation == "fresh" else 0
    sampling = 20.0 * (cfg.n + n_val + cfg.n_test) * cfg.d
    return CELL_OVERHEAD + sampling + learner_cost(cfg.build(), cfg.n, cfg.d, n_val, cfg.n_test)


def alignment_cost(config: Mapping[str, Any]) -> float:
    """An alignment cell is a fit cell plus an SVD of W (negligible)."""
    return fit_cost(config)


def transfer_cost(config: Mapping[str, Any]) -> float:
    """The layer-wise source fit on n_source, the transfer head and every baseline on n_target."""
    from featlearn.experiments._transfer import validate_transfer_config

    cfg = validate_transfer_config(dict(config), source="cost of a transfer cell")
    source = learner_cost(cfg.build("layerwise"), cfg.n_source, cfg.d, cfg.n_val, 0)
    baselines = sum(
        learner_cost(cfg.build(name), cfg.n_target, cfg.d, cfg.n_val, cfg.n_test)
        for name in cfg.baselines
    )
    m = cfg.width or 0
    head = 2.0 * cfg.n_target * m * m + 10.0 * m**3
    return CELL_OVERHEAD + source + baselines + head
