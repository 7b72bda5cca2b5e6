"""The learner protocol and registry (DESIGN section 4).

Every learner: ``fit(X, y, *, key)`` returns self; ``fit_stream(stream, *, key, validation)`` is the
same on a chunked data stream; ``predict(X)``; ``diagnostics()`` returns learned quantities such as
the first-layer weights. ``__init__`` only stores a frozen config; fitted state ends in ``_``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._configs import config_from, register_config
from featlearn._errors import ConfigError, FeatlearnError, check_finite
from featlearn.targets import ArrayStream, Stream

__all__ = ["LEARNERS", "Learner", "NotFittedError", "build_learner", "make_learner", "register"]

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}

LEARNERS: dict[str, type[Learner]] = {}


class NotFittedError(FeatlearnError, AttributeError):
    """``predict`` or ``diagnostics`` was called before ``fit``."""


def register(name: str):
    """Class decorator adding a learner to LEARNERS under ``name`` (public interface), and its
    ``Config`` to the configurations that sweeps check without JAX."""

    def deco(cls: type[Learner]) -> type[Learner]:
        cls.name = name
        LEARNERS[name] = cls
        register_config(name, cls.Config, is_network=cls.is_network)
        return cls

    return deco


def make_learner(name: str, **options: Any) -> Learner:
    """Instantiate the registered learner ``name`` with config fields ``options``
    (``build_learner`` in keyword form)."""
    return build_learner(name, options)


def build_learner(name: str, options: dict[str, Any] | None = None, *, width: int | None = None):
    """The one path from a configuration to a learner, used by the CLI, sweeps, transfer,
    alignment and the sklearn wrappers: the registered learner ``name`` with config fields
    ``options``, and ``width`` applied (unless ``options`` sets it) when the learner is a network
    (``Learner.is_network``; other learners have no width and ignore it)."""
    if name not in LEARNERS:
        raise ConfigError(f"learner must be one of {sorted(LEARNERS)}; got {name!r}")
    cls = LEARNERS[name]
    opts = dict(options or {})
    if width is not None and cls.is_network:
        opts.setdefault("width", width)
    return cls(**opts)


class Learner(ABC):
    """Base protocol of all learners. Concrete learners are final (not subclassed again)."""

    name: ClassVar[str] = "learner"
    Config: ClassVar[type]
    #: A network learner has a first layer ``W_`` and a ``width``; experiments pass theirs to it.
    is_network: ClassVar[bool] = False
    #: The learner can use the target's relevant subspace: ``fit_stream(..., projection=U)``.
    uses_projection: ClassVar[bool] = False

    @property
    def data_dtype(self):
        """The dtype its data must have (``config.dtype``; float32 for learners without one)."""
        return DTYPES[getattr(self.config, "dtype", "float32")]

    @property
    def block(self) -> int:
        """Rows per streamed chunk it wants (``config.block``, else the streams' default 4096)."""
        return int(getattr(self.config, "block", 4096))

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        self.config = config_from(self.Config, config, overrides)

    def check_problem(self, n: int, n_val: int | None = None) -> None:
        """Raise ConfigError when this learner cannot fit n samples with n_val fresh validation
        samples (None: a holdout of n) under its options (memory budget, more centres than
        samples...): ``config.check_problem``, which experiment configs call before anything runs
        (without JAX), so such cells are refused at the boundary."""
        check = getattr(self.config, "check_problem", None)
        if check is not None:
            check(n, n_val)

    def get_params(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    def set_params(self, **params: Any) -> Learner:
        self.config = config_from(self.Config, self.config, params)
        return self

    def fit(self, X, y, *, key: jax.Array, X_val=None, y_val=None, **fit_options: Any) -> Learner:
        """Fit on arrays X (n, d), y (n,). Validation arrays, if given, choose hyperparameters;
        ``fit_options`` go to ``fit_stream`` (e.g. ``projection=U`` for an oracle kernel)."""
        validation = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ConfigError("X_val and y_val must be given together")
            validation = ArrayStream(X_val, y_val).materialize()
        return self.fit_stream(ArrayStream(X, y), key=key, validation=validation, **fit_options)

    @abstractmethod
    def fit_stream(self, stream: Stream, *, key: jax.Array, validation=None) -> Learner:
        """Fit on a chunked stream; ``validation`` is an (X_val, y_val) pair or None."""

    @abstractmethod
    def _predict(self, X: jnp.ndarray) -> jnp.ndarray: ...

    def predict(self, X) -> jnp.ndarray:
        """Predictions for X (n, d), shape (n,)."""
        self._check_fitted()
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.d_:
            raise ConfigError(f"X must have shape (n, d = {self.d_}); got {X.shape}")
        check_finite("X", X)
        return self._predict(jnp.asarray(X, dtype=self.dtype_))

    def diagnostics(self) -> dict[str, Any]:
        """Learned quantities (e.g. ``W`` for networks, ``lambda``); empty by default."""
        self._check_fitted()
        return {}

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save the fitted learner as a folder (``learner.json`` + ``arrays.npz``); returns it.

        The format is documented in ``featlearn.learners._persist``; read it back with
        ``featlearn.learners.load(path)``.
        """
        from featlearn.learners._persist import save

        return save(self, path, overwrite=overwrite)

    def _check_fitted(self) -> None:
        if not hasattr(self, "d_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({fields})"
