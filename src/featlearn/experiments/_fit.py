"""One learner on one target: the unit every experiment and sweep cell is made of."""

from __future__ import annotations

import time
from typing import Any

import jax

from featlearn import _keys
from featlearn._configs import FitConfig, fit_sizes, validate_fit_config, validate_model
from featlearn.metrics import alignment, degree_energies, excess_risk, principal_angles
from featlearn.targets import make_target

__all__ = ["FitConfig", "fit_cell", "fit_keys", "run_fit", "validate_fit_config", "validate_model"]


_KEY_NAMES = ("target", "train", "val", "test", "learner")


def fit_keys(seed: int, *, d: int | None = None) -> dict[str, jax.Array]:
    """Independent keys for each random part of a fit, all derived from one integer seed
    (and from d when given: ``pair_seed`` cells share keys across n and learners, not across d)."""
    key = _keys.key(seed)
    if d is not None:
        key = _keys.fold_in(key, d)
    return dict(zip(_KEY_NAMES, _keys.split(key, len(_KEY_NAMES)), strict=True))


def run_fit(config: FitConfig | dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """Fit ``config.learner`` on fresh data from ``config.target`` and measure it.

    Returns a flat record: excess_risk, relative_risk, risk_stderr, alignment (networks only),
    principal_angles, lambda, lambda_at_edge (``"low"``/``"high"`` when the lambda chosen on
    validation is the smallest/largest value of its grid, else None), warnings (one-line messages,
    e.g. for lambda at the edge), n_fit (samples fitted on: n less any holdout), seconds (fit wall
    time), the target's energy per degree and, with ``degrees``, the per-degree learned energy.
    Values may be numpy scalars; the runtime's ``jsonable`` turns them into JSON numbers.
    """
    return fit_cell(config, seed=seed)[0]


def fit_cell(
    config: FitConfig | dict[str, Any], *, seed: int = 0
) -> tuple[dict[str, Any], Any, Any]:
    """``run_fit``'s record together with the fitted learner and the target, for experiments
    that measure more of the same fit (``run_alignment``)."""
    if not isinstance(config, FitConfig):
        config = validate_fit_config(config)
    if config.pair_seed is None:
        keys = fit_keys(seed)
    else:
        keys = fit_keys(config.pair_seed, d=config.d)
    target = make_target(config.target, config.d, key=keys["target"], inputs=config.inputs)
    learner = config.build()
    dtype = learner.data_dtype
    train = target.stream(
        config.n, key=keys["train"], noise=config.noise, dtype=dtype, block=learner.block
    )
    validation = None
    if config.validation == "fresh":
        validation = target.sample(config.n_val, key=keys["val"], noise=config.noise, dtype=dtype)
    start = time.perf_counter()
    extra = {"projection": target.U} if learner.uses_projection else {}  # oracle kernels use U
    learner.fit_stream(train, key=keys["learner"], validation=validation, **extra)
    seconds = time.perf_counter() - start
    risk = excess_risk(learner.predict, target, key=keys["test"], n_test=config.n_test, dtype=dtype)
    diag = learner.diagnostics()
    record: dict[str, Any] = {
        "excess_risk": risk.excess_risk,
        "relative_risk": risk.relative_risk,
        "risk_stderr": risk.stderr,
        "lambda": diag.get("lambda"),
        "lambda_at_edge": diag.get("lambda_edge"),
        "warnings": [],
        "n_fit": _fitted_samples(config, learner),
        "seconds": seconds,
        "alignment": None,
        "principal_angles": None,
    }
    if record["lambda_at_edge"] is not None:
        record["warnings"].append(
            _edge_warning(record["lambda"], record["lambda_at_edge"], learner)
        )
    if "W" in diag:
        record["alignment"] = alignment(diag["W"], target.U)
        record["principal_angles"] = [float(a) for a in principal_angles(diag["W"], target.U)]
    record["energy_per_degree"] = list(target.moments.energy_per_degree)
    if config.degrees:
        report = degree_energies(
            learner.predict,
            target,
            key=_keys.fold_in(keys["test"], 1),
            n_test=config.n_test,
            dtype=dtype,
        )
        record.update(report.to_record())
    return record, learner, target


def _edge_warning(lam: float, edge: str, learner: Any) -> str:
    """One line saying that lam is an end of its validation grid, and which option widens it."""
    low = edge == "low"
    option = "lambda_min" if low else "lambda_max"
    value = getattr(learner.config, option, None)
    setting = f"{option} = {value:g}" if value is not None else option
    return (
        f"lambda = {lam:.3g} is the {'smallest' if low else 'largest'} value of its validation "
        f"grid ({setting}, relative to the data's scale), so the best lambda may lie "
        f"{'below' if low else 'above'} it; {'lower' if low else 'raise'} {option}"
    )


def _fitted_samples(config: FitConfig, learner: Any) -> int:
    """Samples the learner fitted on: n, less the held-out part when validation is a holdout
    (the one rule of ``fit_sizes``, which ``split_validation`` and the boundary checks use)."""
    n_val = config.n_val if config.validation == "fresh" else None
    return fit_sizes(learner.config, config.n, n_val)[0]


from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
