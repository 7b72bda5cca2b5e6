"""Configurations of the experiments ``fit``, ``transfer`` and ``alignment`` (DESIGN section 7):
pydantic models that check every field and every learner configuration a cell will build, so a
sweep's bad option is refused when the spec is read, in a process that never loads JAX.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from featlearn._configs._base import LEARNER_CONFIGS, learner_config
from featlearn._errors import ConfigError

if TYPE_CHECKING:  # imported by ``build`` only: the learners import JAX
    from featlearn.learners import Learner

__all__ = [
    "DEFAULT_OPTIONS",
    "FitConfig",
    "TransferConfig",
    "validate_alignment_config",
    "validate_fit_config",
    "validate_model",
    "validate_transfer_config",
]


def check_learner(name: str, options: dict[str, Any], width: int | None, n: int, n_val) -> None:
    """Learner ``name``'s configuration from ``options`` and ``width`` is valid and can fit n
    samples with n_val fresh validation samples (None: a holdout of n); ConfigError if not."""
    config = learner_config(name, options, width=width)
    check_problem = getattr(config, "check_problem", None)  # a user's own config may have none
    if check_problem is not None:
        check_problem(n, n_val)


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
        if v not in LEARNER_CONFIGS:
            raise ValueError(f"learner must be one of {sorted(LEARNER_CONFIGS)}; got {v!r}")
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
        n_val = self.n_val if self.validation == "fresh" else None
        try:
            check_learner(self.learner, self.options, self.width, self.n, n_val)
        except ConfigError as exc:
            raise ValueError(f"learner options: {exc}") from None
        return self

    def build(self) -> Learner:
        """The configured learner, through ``featlearn.learners.build_learner`` (the one path;
        this imports the learners, hence JAX)."""
        from featlearn.learners import build_learner

        return build_learner(self.learner, self.options, width=self.width)


#: Options applied unless ``options`` overrides them: the kernel baseline is the network's NTK.
DEFAULT_OPTIONS = {"kernel-ridge": {"kernel": "ntk"}}

_BASELINES = ("layerwise", "random-features", "kernel-ridge")


def _default_baselines() -> list[str]:
    """Layer-wise from scratch, random features and NTK kernel ridge, those that are registered."""
    return [name for name in _BASELINES if name in LEARNER_CONFIGS]


def _known_learners(names: list[str], what: str) -> None:
    unknown = [n for n in names if n not in LEARNER_CONFIGS]
    if unknown:
        raise ValueError(
            f"{what} must be registered learners {sorted(LEARNER_CONFIGS)}; got {unknown}"
        )


class TransferConfig(BaseModel):
    """Resolved configuration of one transfer cell; round-trips through plain dicts.

    d : dimension; n_source : samples of the source head used to learn (W, b);
    n_target : samples of the target head for the new head and for every baseline
    noise : label-noise variance sigma^2 (source and target)
    width : network width, passed to every learner that has one
    n_val : fresh validation samples (source: lambda of the source head; target: lambda of the
        transfer head and of every baseline); n_test : fresh noiseless test samples of the target
    baselines : learners fitted from scratch on the n_target target samples (``layerwise`` is the
        layer-wise learner from scratch); default: those of layerwise, random-features and
        kernel-ridge that are registered
    options : further options by learner name, over ``DEFAULT_OPTIONS`` (kernel-ridge uses the
        NTK unless told otherwise), e.g. ``{"kernel-ridge": {"kernel": "nngp"}}``;
        ``layerwise`` options apply to the source fit and to the transfer head's lambda grid too
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    d: int = Field(20, ge=2)
    n_source: int = Field(20_000, ge=2)
    n_target: int = Field(1_000, ge=2)
    noise: float = Field(0.0, ge=0.0)
    width: int | None = Field(512, ge=2)
    n_val: int = Field(10_000, ge=2)
    n_test: int = Field(10_000, ge=2)
    baselines: list[str] = Field(default_factory=lambda: _default_baselines())
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("baselines")
    @classmethod
    def _check_baselines(cls, v: list[str]) -> list[str]:
        _known_learners(v, "baselines")
        if len(set(v)) != len(v):
            raise ValueError(f"baselines must not repeat a learner; got {v}")
        return v

    @field_validator("options")
    @classmethod
    def _check_options(
        cls, v: dict[str, dict[str, Any]], info: ValidationInfo
    ) -> dict[str, dict[str, Any]]:
        _known_learners(list(v), "options keys")
        for name, opts in v.items():  # each learner's own config, checked before anything runs
            learner_config(name, {**DEFAULT_OPTIONS.get(name, {}), **opts},
                           width=info.data.get("width"))  # fmt: skip
        return v

    @model_validator(mode="after")
    def _learners_accept(self) -> TransferConfig:
        """Every learner the cell fits can fit its samples: the source network on n_source, each
        baseline on n_target, all with n_val fresh validation samples."""
        fits = [("layerwise", self.n_source)] + [(b, self.n_target) for b in self.baselines]
        for name, n in fits:
            try:
                check_learner(name, self.learner_options(name), self.width, n, self.n_val)
            except ConfigError as exc:
                raise ValueError(f"learner {name!r}: {exc}") from None
        return self

    def learner_options(self, name: str) -> dict[str, Any]:
        """Options of learner ``name``: ``options[name]`` over ``DEFAULT_OPTIONS``."""
        return {**DEFAULT_OPTIONS.get(name, {}), **self.options.get(name, {})}

    def build(self, name: str) -> Learner:
        """Learner ``name`` with ``learner_options(name)`` and this width, through
        ``featlearn.learners.build_learner`` (the one path; this imports the learners, hence JAX)."""
        from featlearn.learners import build_learner

        return build_learner(name, self.learner_options(name), width=self.width)


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


def validate_transfer_config(data: dict[str, Any], *, source: str = "config") -> TransferConfig:
    """TransferConfig from a dict; a bad or unknown key raises ConfigError naming it."""
    return validate_model(TransferConfig, data, source)


def validate_alignment_config(data: dict[str, Any], *, source: str = "config") -> FitConfig:
    """A FitConfig whose learner must be a network (one with a first layer W)."""
    config = data if isinstance(data, FitConfig) else validate_fit_config(data, source=source)
    if not LEARNER_CONFIGS[config.learner][1]:
        raise ConfigError(
            f"{source}: learner: alignment needs a network learner (one with a width); "
            f"got {config.learner!r}"
        )
    if config.validation != "fresh":
        raise ConfigError(
            f"{source}: validation: alignment cells use 'fresh'; got {config.validation!r}"
        )
    return config
