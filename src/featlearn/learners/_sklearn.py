"""Machinery shared by the scikit-learn estimators of ``featlearn.learners.sklearn``.

Input validation (dense, real, finite X (n, d) and y (n,)), the seed-to-key rule, and the two bases:
``_Regressor`` (fit/predict/score/diagnostics) and ``_NamedRegressor`` (parameters read from the
subclass's explicit ``__init__`` signature, as scikit-learn's ``BaseEstimator`` does). The generic
``FeatlearnRegressor`` lives here too; the public names are re-exported by ``sklearn.py``.

scikit-learn is not a dependency: sklearn's ``BaseEstimator`` and ``RegressorMixin`` are added as
bases only when sklearn is importable (for its tags, repr and clone conventions).
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from typing import Any, ClassVar

import jax
import numpy as np

from featlearn._errors import ConfigError
from featlearn.learners._base import LEARNERS, NotFittedError, make_learner

try:  # sklearn is optional: used for its base classes and warning type only
    from sklearn.base import BaseEstimator as _SkBase
    from sklearn.base import RegressorMixin as _SkRegressor
    from sklearn.exceptions import DataConversionWarning
    from sklearn.exceptions import NotFittedError as _SkNotFittedError

    _BASES: tuple[type, ...] = (_SkRegressor, _SkBase)

    class _NotFittedError(NotFittedError, _SkNotFittedError):
        """featlearn's NotFittedError that sklearn's checks also recognise as theirs."""
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests

    class DataConversionWarning(UserWarning):
        """A column-vector y was passed where a 1-D array was expected."""

    _BASES = (object,)
    _NotFittedError = NotFittedError


class _InputTypeError(ConfigError, TypeError):
    """X or y holds something that is not a number."""


def _seed_key(random_state: Any) -> jax.Array:
    """The JAX key for ``random_state``: int seed, JAX key, numpy RNG, or None (OS entropy)."""
    if isinstance(random_state, jax.Array):
        return random_state
    if random_state is None:
        return jax.random.key(int(np.random.SeedSequence().generate_state(1)[0]))
    if isinstance(random_state, np.random.Generator):
        return jax.random.key(int(random_state.integers(2**31)))
    if isinstance(random_state, np.random.RandomState):
        return jax.random.key(int(random_state.randint(2**31)))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return jax.random.key(int(random_state))
    raise ConfigError(
        "random_state must be an int, a JAX key, a numpy Generator/RandomState or None; "
        f"got {random_state!r}"
    )


def _as_float_array(name: str, value: Any) -> np.ndarray:
    """Dense real float array from array-likes; rejects sparse, complex, None and NaN/inf."""
    if value is None:
        raise ConfigError(f"this estimator requires {name} to be passed, but {name} is None")
    if hasattr(value, "toarray") or hasattr(value, "tocsr"):
        raise ConfigError(f"{name}: sparse input is not supported; pass a dense array")
    arr = np.asarray(value)
    if np.iscomplexobj(arr):
        raise ConfigError(f"{name}: Complex data not supported; got dtype {arr.dtype}")
    try:
        arr = arr.astype(np.float64) if arr.dtype.kind not in "f" else arr
    except (TypeError, ValueError) as exc:
        raise _InputTypeError(f"{name} must hold numbers; got dtype {arr.dtype}: {exc}") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ConfigError(
            f"{name} must be finite: Input {name} contains NaN or inf "
            f"({int(bad.sum())} non-finite value(s))"
        )
    return arr


def _check_X(X: Any, n_features: int | None = None, owner: str = "the estimator") -> np.ndarray:
    X = _as_float_array("X", X)
    if X.ndim != 2:
        raise ConfigError(
            f"X must be a 2-D array (n_samples, n_features); got shape {X.shape}. "
            "Reshape your data with X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"
        )
    if X.shape[1] < 1:
        raise ConfigError(f"X has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    if n_features is not None and X.shape[1] != n_features:
        raise ConfigError(
            f"X has {X.shape[1]} features, but {owner} is expecting {n_features} features as input"
        )
    return X


def _check_y(y: Any, n: int) -> np.ndarray:
    if y is None:
        raise ConfigError("this estimator requires y to be passed, but the target y is None")
    y = _as_float_array("y", y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the shape "
            "of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ConfigError(f"y should be a 1d array of shape (n_samples,); got shape {y.shape}")
    if y.shape[0] != n:
        raise ConfigError(f"X and y must have the same number of samples; got {n} and {y.shape[0]}")
    return y


def _learner_dtype(learner) -> np.dtype:
    """The numpy dtype of the learner's data (``Learner.data_dtype``): inputs are cast to it."""
    return np.dtype(learner.data_dtype)


class _Regressor(*_BASES):
    """Shared fit/predict/score of the wrappers; subclasses say which learner and which options."""

    _learner_name: ClassVar[str | None] = None

    def _learner_and_options(self) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def fit(self, X, y, *, X_val=None, y_val=None) -> _Regressor:
        """Fit the learner on X (n, d), y (n,) with the key from ``random_state``; returns self.

        ``X_val``, ``y_val``: an optional validation set for the learner's hyperparameters (lambda,
        early stopping); without it the learner holds out its ``val_fraction`` of the data.
        """
        X = _check_X(X)
        y = _check_y(y, X.shape[0])
        if X.shape[0] < 2:
            raise ConfigError(f"fit needs at least 2 samples; got n_samples = {X.shape[0]}")
        if (X_val is None) != (y_val is None):
            raise ConfigError("X_val and y_val must be given together")
        name, options = self._learner_and_options()
        learner = make_learner(name, **options)
        dtype = _learner_dtype(learner)
        val = {}
        if X_val is not None:
            X_val = _check_X(X_val, X.shape[1], type(self).__name__)
            val = {"X_val": X_val.astype(dtype), "y_val": _check_y(y_val, len(X_val)).astype(dtype)}
        learner.fit(X.astype(dtype), y.astype(dtype), key=_seed_key(self.random_state), **val)
        self.learner_ = learner
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X) -> np.ndarray:
        """Predictions for X (n, d), a numpy array of shape (n,) in the learner's dtype."""
        if not self.__sklearn_is_fitted__():
            raise _NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")
        X = _check_X(X, self.n_features_in_, type(self).__name__)
        return np.asarray(self.learner_.predict(X.astype(_learner_dtype(self.learner_))))

    def score(self, X, y, sample_weight=None) -> float:
        """Coefficient of determination R^2 = 1 - sum w (y - yhat)^2 / sum w (y - ybar_w)^2."""
        y = _check_y(y, np.shape(X)[0]).astype(np.float64)
        pred = self.predict(X).astype(np.float64)
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, np.float64)
        resid = np.sum(w * (y - pred) ** 2)
        total = np.sum(w * (y - np.average(y, weights=w)) ** 2)
        if total == 0:
            return 1.0 if resid == 0 else 0.0
        return float(1.0 - resid / total)

    def diagnostics(self) -> dict[str, Any]:
        """The fitted learner's diagnostics (e.g. first-layer weights ``W``, ``lambda``)."""
        if not self.__sklearn_is_fitted__():
            raise _NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first")
        return self.learner_.diagnostics()

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "learner_")

    if _BASES == (object,):  # pragma: no cover - without sklearn

        def __repr__(self) -> str:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"


class FeatlearnRegressor(_Regressor):
    """Any registered learner as an estimator: ``FeatlearnRegressor("random-features", width=64)``.

    Parameters
    ----------
    learner : name in ``featlearn.learners.LEARNERS``
    random_state : int seed (default 0), JAX key, numpy Generator/RandomState, or None (OS entropy)
    **options : fields of that learner's config (e.g. ``width``); validated at ``fit``
    """

    def __init__(self, learner: str = "layerwise", random_state: Any = 0, **options: Any) -> None:
        self.learner = learner
        self.random_state = random_state
        self.options = options

    def _learner_and_options(self) -> tuple[str, dict[str, Any]]:
        return self.learner, dict(self.options)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"learner": self.learner, "random_state": self.random_state, **self.options}

    def set_params(self, **params: Any) -> FeatlearnRegressor:
        for key in ("learner", "random_state"):
            if key in params:
                setattr(self, key, params.pop(key))
        if params and isinstance(self.learner, str) and self.learner in LEARNERS:
            known = {f.name for f in dataclasses.fields(LEARNERS[self.learner].Config)}
            unknown = sorted(set(params) - known)
            if unknown:
                raise ConfigError(
                    f"{self.learner} got unknown option(s) {unknown}; known options: {sorted(known)}"
                )
        self.options = {**self.options, **params}
        return self


class _NamedRegressor(_Regressor):
    """Base of the per-learner estimators; a subclass sets ``_learner_name`` and spells the
    learner's config fields out as keyword parameters of its ``__init__`` (which only stores them).

    The parameters are read from that signature, as sklearn's ``BaseEstimator._get_param_names``
    does, so ``get_params``, ``set_params`` and ``clone`` work with or without sklearn installed.
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        params = inspect.signature(cls.__init__).parameters
        return [name for name in params if name != "self"]

    def _learner_and_options(self) -> tuple[str, dict[str, Any]]:
        params = self.get_params()
        params.pop("random_state")
        return self._learner_name, params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> _NamedRegressor:
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise ConfigError(
                f"{type(self).__name__} got unknown parameter(s) {unknown}; "
                f"known parameters: {sorted(self._param_names())}"
            )
        for key, value in params.items():
            setattr(self, key, value)
        return self
