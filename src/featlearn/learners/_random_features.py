"""Random features: the network with its first layer frozen at initialisation (DESIGN section 4).

The kernel regime at finite width: only the second layer is fitted, by the same ridge head as the
layer-wise learner, on phi(x) = sigma(W0 x + b0) with (W0, b0) from the symmetric initialisation.
"""

from __future__ import annotations

from dataclasses import replace

import jax
import jax.numpy as jnp

from featlearn._configs import RandomFeaturesConfig
from featlearn.learners._base import DTYPES, register
from featlearn.learners._network import _check_stream, _NetworkLearner
from featlearn.learners._steps import HeadOptions, linear_part, ridge_head, split_validation
from featlearn.networks import get_activation, init_symmetric
from featlearn.targets import Stream

__all__ = ["RandomFeaturesConfig", "RandomFeaturesLearner"]


@register("random-features")
class RandomFeaturesLearner(_NetworkLearner):
    """Ridge on sigma(W0 x + b0), the first layer frozen at its symmetric initialisation.

    Neurons j and j + m/2 share (w_j, b_j), so the m features are m/2 distinct ones, each twice.
    For duplicated features the ridge solution splits equally: minimising
    |Phi_h (a1 + a2) - r|^2/n + lam (|a1|^2 + |a2|^2) gives a1 = a2 = s/2 where
    s = (Phi_h^T Phi_h/n + (lam/2) I)^{-1} Phi_h^T r/n. The head is therefore solved on the m/2
    distinct features with lam/2 (a quarter of the Gram cost), and ``lambda`` reports the penalty
    of the full m-neuron problem, the same convention as the layer-wise head.
    """

    Config = RandomFeaturesConfig

    def fit_stream(
        self, stream: Stream, *, key: jax.Array, validation=None
    ) -> RandomFeaturesLearner:
        cfg, dtype = self.config, DTYPES[self.config.dtype]
        _check_stream(stream, dtype)
        needs_val = cfg.lam is None
        train, validation = (
            split_validation(stream, validation, cfg.val_fraction) if needs_val else (stream, None)
        )
        act = get_activation(cfg.activation)
        alpha, beta = linear_part(train, enabled=cfg.preprocess)
        params = init_symmetric(cfg.width, stream.d, key=key, dtype=dtype)
        half = cfg.width // 2
        W_h, b_h = params.W[:half], params.b[:half]
        s, lam_half, edge = ridge_head(W_h, b_h, act, train, alpha, beta, validation,
                                       self._half_opts())  # fmt: skip
        a_h = jnp.asarray(s, dtype) / 2
        self.W_, self.b_, self.a_ = params.W, params.b, jnp.concatenate([a_h, a_h])
        self.alpha_, self.beta_, self.lambda_ = alpha, beta, 2.0 * lam_half
        self.lambda_edge_ = edge
        self.activation_, self.d_, self.dtype_ = act, stream.d, dtype
        return self

    def _half_opts(self) -> HeadOptions:
        """Head options for the m/2 distinct features: every lambda halved (see class docstring).

        The grid is relative to tr(A)/m, which is the same for the full and the halved Gram matrix,
        so halving its ends reproduces the full problem's grid exactly.
        """
        cfg = self.config
        opts = HeadOptions(cfg.lambda_min, cfg.lambda_max, cfg.n_lambdas)
        if cfg.lam is not None:
            return replace(opts, fixed_lambda=cfg.lam / 2)
        return replace(opts, lambda_min=cfg.lambda_min / 2, lambda_max=cfg.lambda_max / 2)
