"""featlearn leaves JAX's 64-bit mode as the user set it, and computes the same numbers as with the
mode on globally (the behaviour before featlearn ran float64 locally)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

# Fits and metrics that need float64 somewhere: exact and pcg kernel ridge in float64, a float32
# layer-wise fit (its ridge head solves in float64), per-degree energies, the kernel theory, moments.
SCRIPT = r"""
import json, jax, jax.numpy as jnp, numpy as np
before = (bool(jax.config.jax_enable_x64), str(jnp.ones(2).dtype))
import featlearn, featlearn.experiments, featlearn.learners, featlearn.metrics
after = (bool(jax.config.jax_enable_x64), str(jnp.ones(2).dtype))
from featlearn.experiments import run_fit
from featlearn.metrics import kernel_theory_risk
from featlearn.targets import make_target
out = {"before": before, "after": after}
base = dict(target="dls-r2p3", d=8, n=400, validation="holdout", n_test=1000, degrees=True, pair_seed=0)
for name, cfg in {
    "exact64": dict(learner="kernel-ridge", options=dict(kernel="ntk", dtype="float64", solver="exact")),
    "pcg64": dict(learner="kernel-ridge", options=dict(kernel="ntk", dtype="float64", solver="pcg")),
    "layerwise32": dict(learner="layerwise", width=64),
}.items():
    r = run_fit({**base, **cfg}, seed=0)
    out[name] = [r["relative_risk"], r["lambda"], *r["learned_fraction"]]
t = make_target("dls-r2p3", 8, key=jax.random.key(0), inputs="sphere")
out["moments"] = list(t.moments.energy_per_degree)
from featlearn.kernels import make_kernel
theory = kernel_theory_risk(make_kernel("ntk"), 8, t.moments.energy_per_degree, n=500, lam=1e-6)
out["theory"] = float(np.asarray(theory))
from featlearn.learners.sklearn import KernelRidgeRegressor
X, y = t.sample(300, key=jax.random.key(1))
pred = KernelRidgeRegressor(kernel="ntk").fit(np.asarray(X), np.asarray(y)).predict(np.asarray(X[:50]))
out["sklearn"] = [str(pred.dtype), *pred.astype(float).tolist()]
print(json.dumps(out))
"""


def _start(x64_env: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    if x64_env is not None:
        env["JAX_ENABLE_X64"] = x64_env
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _result(proc: subprocess.Popen) -> dict:
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs() -> tuple[dict, dict]:
    """(mode as the process had it: off, mode on globally), run side by side."""
    local, global_ = _start(None), _start("1")
    return _result(local), _result(global_)


def test_import_leaves_the_mode_as_it_was(runs):
    local, global_ = runs
    assert local["before"] == local["after"] == [False, "float32"]
    assert global_["before"] == global_["after"] == [True, "float64"]


def test_sklearn_wrapper_returns_float64_without_the_mode(runs):
    local, global_ = runs
    assert local["sklearn"][0] == global_["sklearn"][0] == "float64"
    np.testing.assert_allclose(local["sklearn"][1:], global_["sklearn"][1:], rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["exact64", "pcg64", "layerwise32", "moments", "theory"])
def test_numbers_equal_those_with_the_mode_on_globally(runs, name):
    local, global_ = runs
    a = np.array(local[name], dtype=float)
    b = np.array(global_[name], dtype=float)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
