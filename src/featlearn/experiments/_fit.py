"""One learner on one target: the unit every experiment and sweep cell is made of."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jax
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from featlearn._errors import ConfigError
from featlearn.learners import LEARNERS, make_learner
from featlearn.metrics import alignment, excess_risk, principal_angles
from featlearn.targets import make_target

__all__ = ["FitConfig", "fit_cell", "fit_keys", "run_fit"]


class FitConfig(BaseModel):
    """Resolved configuration of one fit; round-trips through plain dicts (``model_dump``).

    learner, target : registered names (``featlearn.learners.LEARNERS``, ``featlearn.targets.PRESETS``)
    d, n : dimension and number of training samples
    noise : label-noise variance sigma^2
    width : network width, passed to learners that have one (ignored by the others)
    validation : ``fresh`` = choose hyperparameters on n_val fresh samples (the reference's choice),
        ``holdout`` = on a held-out fraction of n
    n_val, n_test : sizes of the fresh validation and noiseless test sets
    options : further learner options by name (e.g. ``{"kernel": "ntk"}``)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    learner: str = "layerwise"
    target: str = "single-he2"
    d: int = Field(20, ge=1)
    n: int = Field(10_000, ge=1)
    noise: float = Field(0.0, ge=0.0)
    width: int | None = Field(None, ge=1)
    validation: str = "fresh"
    n_val: int = Field(10_000, ge=2)
    n_test: int = Field(10_000, ge=2)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("learner")
    @classmethod
    def _known_learner(cls, v: str) -> str:
        if v not in LEARNERS:
            raise ValueError(f"learner must be one of {sorted(LEARNERS)}; got {v!r}")
        return v

    @field_validator("validation")
    @classmethod
    def _known_validation(cls, v: str) -> str:
        if v not in ("fresh", "holdout"):
            raise ValueError(f"validation must be 'fresh' or 'holdout'; got {v!r}")
        return v

    def learner_options(self) -> dict[str, Any]:
        opts = dict(self.options)
        fields = {f.name for f in dataclasses.fields(LEARNERS[self.learner].Config)}
        if self.width is not None and "width" in fields:
            opts.setdefault("width", self.width)
        return opts


def fit_keys(seed: int) -> dict[str, jax.Array]:
    """Independent keys for each random part of a fit, all derived from one integer seed."""
    names = ("target", "train", "val", "test", "learner")
    keys = jax.random.split(jax.random.key(seed), len(names))
    return dict(zip(names, keys, strict=True))


def run_fit(config: FitConfig | dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """Fit ``config.learner`` on fresh data from ``config.target`` and measure it.

    Returns a flat record: excess_risk, relative_risk, risk_stderr, alignment (networks only),
    principal_angles, lambda, seconds (fit wall time), and the target's energy per degree.
    """
    return fit_cell(config, seed=seed)[0]


def fit_cell(
    config: FitConfig | dict[str, Any], *, seed: int = 0
) -> tuple[dict[str, Any], Any, Any]:
    """``run_fit``'s record together with the fitted learner and the target, for experiments
    that measure more of the same fit (``run_alignment``)."""
    if not isinstance(config, FitConfig):
        config = validate_fit_config(config)
    keys = fit_keys(seed)
    target = make_target(config.target, config.d, key=keys["target"])
    learner = make_learner(config.learner, **config.learner_options())
    if getattr(learner.config, "oracle", False):
        learner.set_projection(target.U)  # oracle kernels know the relevant subspace
    dtype = getattr(learner.config, "dtype", "float32")
    train = target.stream(config.n, key=keys["train"], noise=config.noise, dtype=dtype)
    validation = None
    if config.validation == "fresh":
        validation = target.sample(config.n_val, key=keys["val"], noise=config.noise, dtype=dtype)
    start = time.perf_counter()
    learner.fit_stream(train, key=keys["learner"], validation=validation)
    seconds = time.perf_counter() - start
    risk = excess_risk(learner.predict, target, key=keys["test"], n_test=config.n_test, dtype=dtype)
    diag = learner.diagnostics()
    record: dict[str, Any] = {
        "excess_risk": risk.excess_risk,
        "relative_risk": risk.relative_risk,
        "risk_stderr": risk.stderr,
        "lambda": diag.get("lambda"),
        "seconds": seconds,
        "alignment": None,
        "principal_angles": None,
    }
    if "W" in diag:
        record["alignment"] = alignment(diag["W"], target.U)
        record["principal_angles"] = [float(a) for a in principal_angles(diag["W"], target.U)]
    record["energy_per_degree"] = list(target.moments.energy_per_degree)
    return record, learner, target


def validate_model(model: type[BaseModel], data: dict[str, Any], source: str) -> Any:
    """``model(**data)``, turning pydantic's errors into one ConfigError naming the key."""
    if isinstance(data, model):
        return data
    try:
        return model(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "?"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (known: {sorted(model.model_fields)})"
        raise ConfigError(f"{source}: {key}: {msg}; got {err.get('input')!r}") from None


def validate_fit_config(data: dict[str, Any], *, source: str = "config") -> FitConfig:
    """FitConfig from a dict; a bad or unknown key raises one ConfigError naming it."""
    return validate_model(FitConfig, data, source)


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    """The record with numpy scalars turned into plain Python numbers (JSON-safe)."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in record.items()}
