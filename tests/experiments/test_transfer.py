"""The transfer experiment: wiring against a hand-made reference, the claim with margin, bad input."""

import jax.numpy as jnp
import numpy as np
import pytest

from featlearn._errors import ConfigError
from featlearn.experiments import EXPERIMENTS, run_transfer, transfer_keys, validate_transfer_config
from featlearn.experiments._transfer import draw
from featlearn.learners import make_learner
from featlearn.metrics import alignment
from featlearn.runtime import jsonable
from featlearn.targets import make_transfer_pair

SMALL = dict(d=8, n_source=3000, n_target=200, width=64, n_val=1000, n_test=2000)


def test_transfer_head_matches_a_numpy_reference_on_the_same_data():
    # float64 throughout, so that the comparison is exact up to solver round-off
    f64 = {"layerwise": {"dtype": "float64"}}
    rec = run_transfer({**SMALL, "baselines": [], "options": f64}, seed=3)
    # rebuild every piece by hand from the documented keys (samples drawn in float32, then cast)
    k = transfer_keys(3)
    source, target = make_transfer_pair(8, key=k["target"])
    net = make_learner("layerwise", width=64, dtype="float64")
    Xs, ys = (v.astype(jnp.float64) for v in source.sample(3000, key=k["source_train"]))
    Xv, yv = (v.astype(jnp.float64) for v in source.sample(1000, key=k["source_val"]))
    net.fit(Xs, ys, key=k["source_learner"], X_val=Xv, y_val=yv)
    W, b = np.asarray(net.W_, np.float64), np.asarray(net.b_, np.float64)
    assert rec["source_alignment"] == pytest.approx(alignment(W, source.U), rel=1e-9)
    X, y = (np.asarray(v, np.float64) for v in target.sample(200, key=k["target_train"]))
    alpha, beta = y.mean(), y @ X / 200
    Phi = np.maximum(X @ W.T + b, 0.0)
    lam = rec["transfer_lambda"]
    a = np.linalg.solve(Phi.T @ Phi / 200 + lam * np.eye(64), Phi.T @ (y - alpha - X @ beta) / 200)
    Xt, ft = (np.asarray(v, np.float64) for v in target.sample(2000, key=k["test"]))
    pred = alpha + Xt @ beta + np.maximum(Xt @ W.T + b, 0.0) @ a
    ref = np.mean((pred - ft) ** 2) / target.moments.variance
    assert rec["transfer_relative_risk"] == pytest.approx(ref, rel=1e-6)
    assert set(rec) >= {
        "source_alignment",
        "source_max_angle",
        "source_seconds",
        "transfer_seconds",
    }
    assert not any(key.startswith("scratch") for key in rec)


def test_transfer_beats_scratch_and_random_features_at_small_n_target():
    cfg = {
        **SMALL,
        "d": 12,
        "n_source": 8000,
        "width": 128,
        "baselines": ["layerwise", "random-features"],
    }
    recs = [EXPERIMENTS["transfer"].run(validate_transfer_config(cfg), seed=s) for s in (0, 1)]
    for rec in recs:
        assert rec["source_alignment"] > 0.7
        assert rec["transfer_relative_risk"] < 0.5 * rec["scratch_relative_risk"]
        assert rec["transfer_relative_risk"] < 0.5 * rec["random_features_relative_risk"]
        stored = jsonable(rec).values()  # the record as the runtime stores it
        assert all(isinstance(v, float | int | list | type(None)) for v in stored)
    # determinism: same seed, same numbers (times aside)
    again = run_transfer(cfg, seed=0)
    assert again["transfer_relative_risk"] == recs[0]["transfer_relative_risk"]
    assert again["scratch_relative_risk"] == recs[0]["scratch_relative_risk"]


def test_draw_gives_the_same_samples_in_every_precision():
    k = transfer_keys(1)
    _, target = make_transfer_pair(8, key=k["target"])
    keys = (k["target_train"], k["target_val"])
    s32, v32 = draw(target, 50, 20, keys=keys, noise=0.1, dtype="float32")
    s64, v64 = draw(target, 50, 20, keys=keys, noise=0.1, dtype="float64")
    assert s64.dtype == jnp.float64 and v64[0].dtype == jnp.float64
    for a, b in zip((*s32.materialize(), *v32), (*s64.materialize(), *v64), strict=True):
        np.testing.assert_array_equal(np.asarray(a, np.float64), np.asarray(b))
    # without cast the float64 draw is run_fit's (different numbers from the float32 one)
    n64, _ = draw(target, 50, 20, keys=keys, noise=0.1, dtype="float64", cast=False)
    assert not np.allclose(np.asarray(n64.materialize()[0]), np.asarray(s64.materialize()[0]))
    rec = run_transfer(
        {**SMALL, "baselines": ["layerwise"], "options": {"layerwise": {"dtype": "float64"}}}
    )
    assert np.isfinite(rec["scratch_relative_risk"]) and np.isfinite(rec["transfer_relative_risk"])


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"n_targte": 10}, "n_targte: unknown key"),
        ({"baselines": ["no-such-learner"]}, "baselines: baselines must be registered"),
        ({"baselines": ["layerwise", "layerwise"]}, "must not repeat"),
        ({"n_target": 1}, "n_target"),
        ({"options": {"nope": {}}}, "options"),
        ({"d": 1}, "d:"),
    ],
)
def test_transfer_config_errors_name_the_key(data, match):
    with pytest.raises(ConfigError, match=match):
        validate_transfer_config(data, source="spec.toml")


def test_transfer_bad_learner_option_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown option"):
        run_transfer({**SMALL, "baselines": [], "options": {"layerwise": {"widht": 8}}})
