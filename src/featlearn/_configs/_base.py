"""What every learner configuration shares: its checks, its construction from a dict, the registry
of configurations by learner name, and the holdout rule (DESIGN section 4).

Pure Python: nothing here imports JAX, so a sweep's every learner configuration is checked when
the spec is read (``featlearn sweep --dry-run``) in a process that never loads JAX.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from featlearn._errors import ConfigError, check_int, check_real

__all__ = [
    "ACTIVATION_NAMES",
    "DTYPE_NAMES",
    "LEARNER_CONFIGS",
    "LearnerConfig",
    "check_activation",
    "check_common",
    "check_width",
    "config_from",
    "fit_sizes",
    "holdout_sizes",
    "learner_config",
    "register_config",
]

#: Activations of ``featlearn.networks.ACTIVATIONS`` (a test keeps the two equal).
ACTIVATION_NAMES = ("erf", "relu", "tanh")
DTYPE_NAMES = ("float32", "float64")

#: Learner name -> (its Config class, whether it is a network: has a ``width``).
LEARNER_CONFIGS: dict[str, tuple[type, bool]] = {}


def register_config(name: str, config_cls: type, *, is_network: bool) -> None:
    """Make ``config_cls`` the configuration of learner ``name`` (``learners.register`` calls
    this for every learner class, so a user's own learner is checked like the built-in ones)."""
    LEARNER_CONFIGS[name] = (config_cls, is_network)


def learner_config(name: str, options: dict[str, Any] | None = None, *, width: int | None = None):
    """The checked configuration of learner ``name`` with fields ``options`` and ``width`` applied
    (unless ``options`` sets it) when the learner is a network: ``build_learner``'s rule, without
    building the learner."""
    if name not in LEARNER_CONFIGS:
        raise ConfigError(f"learner must be one of {sorted(LEARNER_CONFIGS)}; got {name!r}")
    config_cls, is_network = LEARNER_CONFIGS[name]
    opts = dict(options or {})
    if width is not None and is_network:
        opts.setdefault("width", width)
    return config_from(config_cls, None, opts)


def config_from(config_cls: type, config: Any, overrides: dict[str, Any]) -> Any:
    """Build a frozen config from an instance or dict plus keyword overrides, naming unknown keys."""
    base = (
        {}
        if config is None
        else (dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config))
    )
    base.update(overrides)
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(base) - known)
    if unknown:
        raise ConfigError(
            f"{config_cls.__name__} got unknown option(s) {unknown}; known options: {sorted(known)}"
        )
    return config_cls(**base)


def check_activation(name: Any) -> None:
    """``name`` must be a registered activation. Without JAX loaded only the built-in names can
    be; once ``featlearn.networks`` is imported its registry (which a user may extend) decides."""
    if name in ACTIVATION_NAMES:
        return
    networks = sys.modules.get("featlearn.networks")
    if networks is not None:
        networks.get_activation(name)
        return
    raise ConfigError(f"activation must be one of {list(ACTIVATION_NAMES)}; got {name!r}")


def check_width(width: Any, *, paired: bool) -> None:
    """A width of at least 1 neuron; an even one of at least 2 when neurons come in symmetric
    pairs (j and j + m/2 share (w, b), opposite a: the symmetric initialisation)."""
    if not paired:
        check_int("width", width, minimum=1)
        return
    check_int("width", width, minimum=2)
    if width % 2:
        raise ConfigError(f"width must be even with symmetric initialisation; got {width}")


def check_common(cfg: Any) -> None:
    """Checks shared by learner configs, for the fields ``cfg`` has: ``activation``, the lambda
    grid, ``val_fraction`` in (0, 0.9] and ``dtype``. (Widths: ``check_width``.)"""
    fields = {f.name for f in dataclasses.fields(cfg)}
    if "activation" in fields:
        check_activation(cfg.activation)
    if "lambda_min" in fields:
        check_real("lambda_min", cfg.lambda_min, minimum=0.0, strict=True)
        check_real("lambda_max", cfg.lambda_max, minimum=cfg.lambda_min)
        check_int("n_lambdas", cfg.n_lambdas, minimum=1)
    if "val_fraction" in fields:
        check_real("val_fraction", cfg.val_fraction, minimum=0.0, strict=True, maximum=0.9)
    if cfg.dtype not in DTYPE_NAMES:
        raise ConfigError(f"dtype must be 'float32' or 'float64'; got {cfg.dtype!r}")


def holdout_sizes(n: int, fraction: float) -> tuple[int, int]:
    """(training, validation) sizes when ``fraction`` of n samples is held out to choose
    hyperparameters: the first round(n (1 - fraction)) rows train, the rest validate. Raises
    ConfigError when either part would be empty."""
    n_train = int(round(n * (1.0 - fraction)))
    if not 1 <= n_train < n:
        raise ConfigError(
            f"val_fraction = {fraction} leaves no training or no validation sample of n = {n}"
        )
    return n_train, n - n_train


def fit_sizes(cfg: Any, n: int, n_val: int | None) -> tuple[int, int | None]:
    """(training, validation) sizes a learner with config ``cfg`` fits on, given n samples and
    n_val fresh validation samples, or None: then it holds out ``cfg.val_fraction`` of n, unless
    it needs no validation (a fixed ``lam``)."""
    fixed = getattr(cfg, "lam", None) is not None
    if n_val is not None or fixed or not hasattr(cfg, "val_fraction"):
        return n, n_val
    return holdout_sizes(n, cfg.val_fraction)


class LearnerConfig:
    """Base of the learners' frozen config dataclasses (its fields are the learner's options)."""

    def check_problem(self, n: int, n_val: int | None = None) -> None:
        """Raise ConfigError when the learner cannot fit n samples with n_val fresh validation
        samples (None: it holds out ``val_fraction`` of n) under these options. Default: the
        holdout must leave samples on both sides."""
        fit_sizes(self, n, n_val)
