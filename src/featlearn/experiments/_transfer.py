"""Transfer: a representation learned on one head, reused for another (DESIGN section 7).

The layer-wise learner fits the source head of ``transfer-pair`` on n_source samples; its first
layer and biases (W, b) are then frozen and a new ridge head is fitted on n_target samples of the
target head (same U, other coefficients). Baselines see only the same n_target target samples.
The claim shown: at fixed n_target the transfer risk does not move with d, since U was learned
from the source, while learners starting from scratch need more samples as d grows.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from featlearn import _keys
from featlearn._configs import TransferConfig, validate_transfer_config
from featlearn.learners import Learner
from featlearn.metrics import alignment, excess_risk, principal_angles
from featlearn.targets import ArrayStream, Target, make_transfer_pair

__all__ = ["TransferConfig", "run_transfer", "transfer_keys", "validate_transfer_config"]

#: Record-key prefix of each baseline learner (others: the name with "-" -> "_").
PREFIXES = {"layerwise": "scratch", "kernel-ridge": "kernel", "random-features": "random_features"}


def transfer_keys(seed: int) -> dict[str, jax.Array]:
    """Independent keys for each random part of a transfer cell, derived from one seed."""
    names = ("target", "source_train", "source_val", "target_train", "target_val", "test")
    names += ("source_learner", "baseline")
    keys = _keys.split(_keys.key(seed), len(names))
    return dict(zip(names, keys, strict=True))


def draw(target: Target, n: int, n_val: int, *, keys, noise: float, dtype, cast: bool = True):
    """(train stream, validation pair) of n and n_val samples from keys (train, val).

    With ``cast``, samples are drawn in float32 and cast to ``dtype`` (JAX draws different numbers
    per dtype), so learners of any precision see the same samples; without it, they are drawn
    in ``dtype`` as ``run_fit`` does. Both agree for float32.
    """
    dtype = jnp.dtype(dtype)
    draw_dtype = jnp.float32 if cast else dtype
    train = target.stream(n, key=keys[0], noise=noise, dtype=draw_dtype)
    val = target.sample(n_val, key=keys[1], noise=noise, dtype=draw_dtype)
    if draw_dtype != dtype:
        train = ArrayStream(*(v.astype(dtype) for v in train.materialize()))
        val = tuple(v.astype(dtype) for v in val)
    return train, val


def fit_on(learner: Learner, target: Target, n: int, *, keys, noise: float, n_val: int) -> float:
    """Fit ``learner`` on n samples of ``target`` with n_val fresh validation samples, drawn by
    ``draw`` (float32, cast to the learner's dtype). ``keys`` = (train, val, learner) keys.
    Returns the fit's wall time."""
    train, val = draw(target, n, n_val, keys=keys, noise=noise, dtype=learner.data_dtype)
    start = time.perf_counter()
    learner.fit_stream(train, key=keys[2], validation=val)
    return time.perf_counter() - start


def _risk(predict, target: Target, key, n_test: int, prefix: str) -> dict[str, float]:
    """Risk on float32 test points (the same points for every learner; predict casts them)."""
    r = excess_risk(predict, target, key=key, n_test=n_test, dtype=jnp.float32)
    return {f"{prefix}_relative_risk": r.relative_risk, f"{prefix}_excess_risk": r.excess_risk}


def _transfer_head(net: Learner, target: Target, cfg: TransferConfig, keys) -> tuple:
    """A new ridge head (and linear part) on the frozen (W, b) of ``net`` from n_target samples
    (``refit_head``); returns (the transferred learner, its wall time)."""
    data_keys = (keys["target_train"], keys["target_val"])
    train, val = draw(
        target, cfg.n_target, cfg.n_val, keys=data_keys, noise=cfg.noise, dtype=net.dtype_
    )
    start = time.perf_counter()
    head = net.refit_head(train, validation=val)
    return head, time.perf_counter() - start


def run_transfer(config: TransferConfig | dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """One transfer cell: source fit, frozen features, new head, and the baselines on n_target.

    Returns a flat record: ``transfer_relative_risk`` / ``transfer_excess_risk`` / ``transfer_lambda``
    / ``transfer_seconds`` (head fit), ``source_relative_risk``, ``source_alignment``,
    ``source_max_angle`` (radians), ``source_seconds``, and for each baseline
    ``{prefix}_relative_risk``, ``{prefix}_excess_risk``, ``{prefix}_seconds`` with prefix
    ``scratch`` (layer-wise from scratch), ``random_features``, ``kernel``, or the learner's name.
    """
    cfg = validate_transfer_config(config)
    keys = transfer_keys(seed)
    source, target = make_transfer_pair(cfg.d, key=keys["target"])
    net = cfg.build("layerwise")
    src_keys = (keys["source_train"], keys["source_val"], keys["source_learner"])
    src_seconds = fit_on(net, source, cfg.n_source, keys=src_keys, noise=cfg.noise, n_val=cfg.n_val)
    W = np.asarray(net.W_)
    record: dict[str, Any] = {
        **_risk(net.predict, source, keys["test"], cfg.n_test, "source"),
        "source_alignment": alignment(W, source.U),
        "source_max_angle": float(principal_angles(W, source.U).max()),
        "source_seconds": src_seconds,
    }
    head, seconds = _transfer_head(net, target, cfg, keys)
    record.update(_risk(head.predict, target, keys["test"], cfg.n_test, "transfer"))
    record.update(transfer_lambda=head.lambda_, transfer_seconds=seconds)
    tgt_keys = (keys["target_train"], keys["target_val"], keys["baseline"])
    for name in cfg.baselines:
        prefix = PREFIXES.get(name, name.replace("-", "_"))
        learner = cfg.build(name)
        secs = fit_on(
            learner, target, cfg.n_target, keys=tgt_keys, noise=cfg.noise, n_val=cfg.n_val
        )
        record.update(_risk(learner.predict, target, keys["test"], cfg.n_test, prefix))
        record[f"{prefix}_seconds"] = secs
    return record  # numpy scalars become JSON numbers where the runtime stores it


from featlearn._jax import float64_inside  # noqa: E402

float64_inside(__name__)  # every function here runs in JAX's 64-bit mode, nothing else does
