"""Full training: every layer of the network trained jointly by Adam or SGD (DESIGN section 4).

What a practitioner would do: start from the symmetric initialisation (f = 0), minimise the mean
squared loss over (W, b, a) with mini-batch or full-batch steps, and stop early on validation loss,
keeping the parameters of the best validation check. The output is not scaled (DESIGN section 2:
f = sum_j a_j sigma(w_j.x + b_j) with a_j = +-1), so the default learning rate is c / width.
Training data are held in memory (the stream is materialised); each validation check is one compiled
call that runs ``eval_every`` epochs of ``lax.scan`` over shuffled mini-batches.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from featlearn import _keys
from featlearn._configs import FullTrainingConfig
from featlearn._errors import NumericalError
from featlearn._fit_progress import report
from featlearn.learners._base import DTYPES, register
from featlearn.learners._network import _check_stream, _NetworkLearner
from featlearn.learners._steps import linear_part, split_validation
from featlearn.networks import Activation, TwoLayerParams, forward, get_activation, init_symmetric
from featlearn.targets import Stream

__all__ = ["FullTrainingConfig", "FullTrainingLearner"]


# Direction transforms without a learning rate: the step is theta <- theta - lr (u + wd theta), with
# lr and wd traced arguments, so one compiled epoch serves every learning rate and weight decay.
def _direction(optimizer: str):
    """The optax direction transform of ``optimizer`` (optax is imported here, on first use: it
    costs 0.2 s at start-up, and only this learner needs it)."""
    import optax

    return {"adam": optax.scale_by_adam, "sgd": optax.identity}[optimizer]()


def _loss(params: TwoLayerParams, X, r, act: Activation):
    """Mean squared loss mean_i (f_theta(x_i) - r_i)^2 on residual labels r."""
    return jnp.mean((forward(params, X, act) - r) ** 2)


def _epoch(carry, key, X, r, lr, wd, optimizer, act, batch):
    """One pass over (X, r) in shuffled batches of ``batch`` rows (the remainder n mod batch is
    dropped for this epoch; a fresh shuffle each epoch lets every row be used)."""
    n = X.shape[0]
    steps = n // batch
    perm = jax.random.permutation(key, n)[: steps * batch].reshape(steps, batch)
    direction = _direction(optimizer)

    def step(carry, idx):
        params, state = carry
        loss, grads = jax.value_and_grad(_loss)(params, X[idx], r[idx], act)
        updates, state = direction.update(grads, state, params)
        params = jax.tree.map(lambda p, u: p - lr * (u + wd * p), params, updates)
        return (params, state), loss

    carry, losses = jax.lax.scan(step, carry, perm)
    return carry, jnp.mean(losses)


@partial(jax.jit, static_argnames=("optimizer", "act", "batch", "epochs"))
def _train_and_validate(
    params, state, key, X, r, X_val, r_val, lr, wd, *, optimizer, act, batch, epochs
):
    """``epochs`` epochs, then the validation loss: (params, state, last train loss, val loss)."""
    body = partial(_epoch, X=X, r=r, lr=lr, wd=wd, optimizer=optimizer, act=act, batch=batch)
    (params, state), losses = jax.lax.scan(body, (params, state), jax.random.split(key, epochs))
    return params, state, losses[-1], _loss(params, X_val, r_val, act)


@register("full-training")
class FullTrainingLearner(_NetworkLearner):
    """All layers (W, b, a) trained jointly on mean (alpha + beta.x + f_theta(x) - y)^2 from the
    symmetric initialisation, with early stopping on validation loss (best parameters restored).

    Diagnostics: W, b, a, ``lambda`` = None (no ridge head), weight_decay, learning_rate, epochs and
    steps run, best_epoch, best_val_loss and the validation-loss history (one value per check).
    """

    Config = FullTrainingConfig

    def fit_stream(self, stream: Stream, *, key: jax.Array, validation=None) -> FullTrainingLearner:
        cfg, dtype = self.config, DTYPES[self.config.dtype]
        _check_stream(stream, dtype)
        k_init, k_train = _keys.split(key)
        train, (X_val, y_val) = split_validation(stream, validation, cfg.val_fraction)
        act = get_activation(cfg.activation)
        alpha, beta = linear_part(train, enabled=cfg.preprocess)
        X, r = self._residuals(*train.materialize(), alpha, beta, dtype)
        Xv, rv = self._residuals(X_val, y_val, alpha, beta, dtype)
        params = init_symmetric(cfg.width, stream.d, key=k_init, dtype=dtype)
        self._train(params, X, r, Xv, rv, act, k_train)
        self.alpha_, self.beta_, self.lambda_ = alpha, beta, None
        self.activation_, self.d_, self.dtype_ = act, stream.d, dtype
        return self

    @staticmethod
    def _residuals(X, y, alpha, beta, dtype):
        X = jnp.asarray(X, dtype)
        return X, jnp.asarray(y, dtype) - jnp.asarray(alpha, dtype) - X @ jnp.asarray(beta, dtype)

    def _train(self, params, X, r, Xv, rv, act, key) -> None:
        """Early-stopping loop: one compiled call per validation check; keeps the best parameters."""
        cfg = self.config
        batch = min(cfg.batch_size or X.shape[0], X.shape[0])
        lr, wd = jnp.asarray(cfg.lr, X.dtype), jnp.asarray(cfg.weight_decay, X.dtype)
        state = _direction(cfg.optimizer).init(params)
        best, best_params, best_check, history = math.inf, params, 0, []
        checks = -(-cfg.max_epochs // cfg.eval_every)
        for check in range(1, checks + 1):
            epochs = min(cfg.eval_every, cfg.max_epochs - (check - 1) * cfg.eval_every)
            params, state, _, val = _train_and_validate(
                params, state, jax.random.fold_in(key, check), X, r, Xv, rv, lr, wd,
                optimizer=cfg.optimizer, act=act, batch=batch, epochs=epochs,
            )  # fmt: skip
            val = float(val)
            if not math.isfinite(val):
                raise NumericalError(
                    f"full training: validation loss is {val} after check {check}; "
                    f"lower learning_rate (now {cfg.lr:g})"
                )
            history.append(val)
            report(
                "full training: epochs", min(check * cfg.eval_every, cfg.max_epochs), cfg.max_epochs
            )
            if val < best * (1.0 - cfg.min_delta):
                best, best_params, best_check = val, params, check
            elif check - best_check >= cfg.patience:
                break
        epochs_run = min(check * cfg.eval_every, cfg.max_epochs)
        self.W_, self.b_, self.a_ = best_params.W, best_params.b, best_params.a
        self.training_ = {
            "epochs": epochs_run,
            "steps": epochs_run * (X.shape[0] // batch),
            "best_epoch": min(best_check * cfg.eval_every, cfg.max_epochs),
            "best_val_loss": best,
            "val_history": np.asarray(history),
        }

    def diagnostics(self) -> dict[str, Any]:
        out = super().diagnostics()
        out.update(weight_decay=self.config.weight_decay, learning_rate=self.config.lr)
        out.update(self.training_)
        return out
