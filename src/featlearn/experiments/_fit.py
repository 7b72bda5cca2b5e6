"""One learner on one target: the unit every experiment and sweep cell is made of."""

from __future__ import annotations

import time
from typing import Any, Literal

import jax
import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from featlearn._errors import ConfigError
from featlearn.learners import LEARNERS, Learner, build_learner
from featlearn.metrics import alignment, degree_energies, excess_risk, principal_angles
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
    inputs : ``gaussian`` (x ~ N(0, I_d), the paper's setting) or ``sphere`` (x uniform on
        sqrt(d) S^{d-1}, where the kernel learning-curve theory of DESIGN section 6 is exact)
    pair_seed : None (default): every random draw comes from the cell's own seed. An integer:
        the target's U, the validation and test sets and the learner's initialisation come from
        (pair_seed, d) alone, and the training set's stream too, so cells that differ only in n
        (or in the learner) share them and their training sets are nested (the first n rows of
        one stream). This pairs the points of a risk-vs-n curve; the sweep's cell seed is unused.
    degrees : also record the learned fraction of the target's energy in every degree
        (``featlearn.metrics.degree_energies`` on its own n_test fresh points)
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
    inputs: Literal["gaussian", "sphere"] = "gaussian"
    pair_seed: int | None = Field(None, ge=0)
    degrees: bool = False
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

    @model_validator(mode="after")
    def _learner_accepts(self) -> FitConfig:
        """Check once, at the boundary: the learner's own config is built from the options and
        the width, and asked whether it can fit n samples (bad option names, odd widths, unknown
        kernels, impossible memory budgets... are found here, before anything runs)."""
        try:
            learner = self.build()
            n_val = self.n_val if self.validation == "fresh" else self.n
            learner.check_problem(self.n, n_val)
        except ConfigError as exc:
            raise ValueError(f"learner options: {exc}") from None
        return self

    def build(self) -> Learner:
        """The configured learner, through ``featlearn.learners.build_learner`` (the one path)."""
        return build_learner(self.learner, self.options, width=self.width)


_KEY_NAMES = ("target", "train", "val", "test", "learner")


def fit_keys(seed: int, *, d: int | None = None) -> dict[str, jax.Array]:
    """Independent keys for each random part of a fit, all derived from one integer seed
    (and from d when given: ``pair_seed`` cells share keys across n and learners, not across d)."""
    key = jax.random.key(seed)
    if d is not None:
        key = jax.random.fold_in(key, d)
    keys = jax.random.split(key, len(_KEY_NAMES))
    return dict(zip(_KEY_NAMES, keys, strict=True))


def run_fit(config: FitConfig | dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """Fit ``config.learner`` on fresh data from ``config.target`` and measure it.

    Returns a flat record: excess_risk, relative_risk, risk_stderr, alignment (networks only),
    principal_angles, lambda, n_fit (samples fitted on: n less any holdout), seconds (fit wall
    time), the target's energy per degree and, with ``degrees``, the per-degree learned energy.
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
        "n_fit": _fitted_samples(config, learner),
        "seconds": seconds,
        "alignment": None,
        "principal_angles": None,
    }
    if "W" in diag:
        record["alignment"] = alignment(diag["W"], target.U)
        record["principal_angles"] = [float(a) for a in principal_angles(diag["W"], target.U)]
    record["energy_per_degree"] = list(target.moments.energy_per_degree)
    if config.degrees:
        report = degree_energies(
            learner.predict,
            target,
            key=jax.random.fold_in(keys["test"], 1),
            n_test=config.n_test,
            dtype=dtype,
        )
        record.update(report.to_record())
    return record, learner, target


def _fitted_samples(config: FitConfig, learner: Any) -> int:
    """Samples the learner fitted on: n, less the held-out part when validation is a holdout
    (``split_validation`` keeps the first round(n (1 - val_fraction)) rows)."""
    if config.validation == "fresh" or getattr(learner.config, "lam", None) is not None:
        return config.n  # fresh validation, or a fixed lam (giant-step): nothing held out
    return int(round(config.n * (1.0 - getattr(learner.config, "val_fraction", 0.0))))


def validate_model(model: type[BaseModel], data: dict[str, Any], source: str) -> Any:
    """``model(**data)``, turning pydantic's errors into one ConfigError naming the key."""
    if isinstance(data, model):
        return data
    try:
        return model(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if not key:  # a check across fields names its own key and value
            raise ConfigError(f"{source}: {msg}") from None
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (known: {sorted(model.model_fields)})"
        got = "" if "; got " in msg else f"; got {err.get('input')!r}"
        raise ConfigError(f"{source}: {key}: {msg}{got}") from None


def validate_fit_config(data: dict[str, Any], *, source: str = "config") -> FitConfig:
    """FitConfig from a dict; a bad or unknown key raises one ConfigError naming it."""
    return validate_model(FitConfig, data, source)


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    """The record with numpy scalars turned into plain Python numbers (JSON-safe)."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in record.items()}
