"""The abstract base of the network learners (DESIGN sections 3-4).

Every network learner predicts alpha + beta.x + f_theta(x) with f_theta(x) = sum_j a_j sigma(w_j.x + b_j)
(any output scale folded into a), reports the same diagnostics, checks its stream the same way and,
when it takes a first-layer step of automatic size, sizes it by one rule (``normalised_eta``).
Concrete learners (layer-wise, giant step, random features, full training) are final.
"""

from __future__ import annotations

import copy
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from featlearn._errors import ConfigError
from featlearn.learners._base import Learner
from featlearn.learners._steps import linear_part, network_predict, ridge_head
from featlearn.targets import Stream

__all__ = ["_NetworkLearner", "_check_stream", "normalised_eta"]


def _check_stream(stream: Stream, dtype) -> None:
    """The stream's dtype must be the learner's: a silent cast would double memory or lose bits."""
    if stream.dtype != dtype:
        raise ConfigError(
            f"data dtype must match the learner's dtype {jnp.dtype(dtype).name}; "
            f"got {jnp.dtype(stream.dtype).name}"
        )


def normalised_eta(G, norm: float = 1.0) -> float:
    """The step size eta making the step's rows have mean squared norm ``norm``^2.

    For a gradient G (m, d): eta = norm / sqrt(mean_j |g_j|^2), so mean_j |eta g_j|^2 = norm^2.
    With norm = 1 and W_0 cancelled by weight decay 1/eta, this is the layer-wise default
    (DESIGN section 3, step 2: mean_j |w_j|^2 = 1 after the step). Computed in float64.
    """
    G = np.asarray(G, dtype=np.float64)
    return float(norm / np.sqrt(np.mean(np.sum(G**2, axis=1))))


class _NetworkLearner(Learner):
    """Shared prediction and diagnostics of learners whose model is alpha + beta.x + f_theta(x).

    Subclasses set, in ``fit_stream``, through ``_set_network``: W_ (m, d), b_ (m,), a_ (m,),
    alpha_, beta_ (d,), lambda_, activation_, d_, dtype_ and, when they take a step, eta1_.
    """

    is_network = True

    def refit_head(self, stream: Stream, *, validation) -> _NetworkLearner:
        """A copy of this fitted network whose first layer (W, b) is kept frozen and whose linear
        part and ridge head are fitted anew on ``stream`` with lambda chosen on ``validation``
        (an (X, y) pair): transfer of the learned representation to another head (DESIGN
        section 7). This learner is not changed."""
        self._check_fitted()
        head = getattr(self.config, "head_options", None)
        if head is None:
            raise ConfigError(f"{type(self).__name__} has no ridge head to refit")
        _check_stream(stream, self.dtype_)
        alpha, beta = linear_part(stream, enabled=getattr(self.config, "preprocess", True))
        a, lam, edge = ridge_head(self.W_, self.b_, self.activation_, stream, alpha, beta,
                                  validation, head())  # fmt: skip
        new = copy.copy(self)
        new._set_network(self.W_, self.b_, a, jnp.asarray(alpha, self.dtype_), beta, lam,
                         self.activation_, self.d_, self.dtype_, lambda_edge=edge)  # fmt: skip
        return new

    def _set_network(
        self, W, b, a, alpha, beta, lam, act, d, dtype, eta1=None, lambda_edge=None
    ) -> None:
        self.W_, self.b_, self.a_ = W, b, jax.device_put(np.asarray(a, dtype))
        self.alpha_, self.beta_, self.lambda_ = alpha, beta, lam
        self.lambda_edge_ = lambda_edge
        if eta1 is not None:
            self.eta1_ = eta1
        self.activation_, self.d_, self.dtype_ = act, d, dtype

    def _predict(self, X):
        return network_predict(
            self.W_, self.b_, self.a_, self.alpha_, self.beta_, X, self.activation_
        )

    def diagnostics(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "W": np.asarray(self.W_),
            "b": np.asarray(self.b_),
            "a": np.asarray(self.a_),
            "lambda": self.lambda_,
            "lambda_edge": getattr(self, "lambda_edge_", None),  # absent in older saved learners
            "eta1": getattr(self, "eta1_", None),
        }
