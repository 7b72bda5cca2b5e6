"""Learner.save / featlearn.learners.load: a round trip for every registered learner gives the
same predictions bit for bit; broken, foreign or future files fail with a ConfigError naming them."""

import json

import jax
import numpy as np
import pytest

from featlearn import ConfigError
from featlearn.learners import LEARNERS, load, make_learner
from featlearn.learners._persist import FORMAT_VERSION

# name -> small, fast options (a learner registered without an entry fails the first test)
SMALL = {
    "layerwise": {"width": 16},
    "giant-step": {"width": 16},
    "random-features": {"width": 16},
    "full-training": {"width": 16, "max_epochs": 20, "patience": 5},
    "kernel-ridge": {"kernel": "ntk"},
    "rfm": {"iterations": 1},
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 4)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] + 0.3 * X[:, 2]).astype(np.float32)
    X_test = rng.standard_normal((50, 4)).astype(np.float32)
    return X, y, X_test


def _fitted(name, data, **extra):
    if name not in SMALL:
        pytest.fail(f"learner {name!r} has no small config in tests/learners/test_persist.py")
    X, y, _ = data
    return make_learner(name, **SMALL[name], **extra).fit(X, y, key=jax.random.key(3))


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_round_trip_predicts_bit_for_bit(name, data, tmp_path):
    learner = _fitted(name, data)
    before = np.asarray(learner.predict(data[2]))
    assert learner.save(tmp_path / "model") == tmp_path / "model"
    loaded = load(tmp_path / "model")
    assert type(loaded) is type(learner)
    assert loaded.config == learner.config
    after = np.asarray(loaded.predict(data[2]))
    assert after.dtype == before.dtype
    np.testing.assert_array_equal(after, before)
    assert set(vars(loaded)) == set(vars(learner))
    assert loaded.diagnostics().keys() == learner.diagnostics().keys()


def test_oracle_kernel_keeps_its_projection(data, tmp_path):
    U = np.eye(4)[:2]
    X, y, X_test = data
    learner = make_learner("kernel-ridge", kernel="ntk", oracle=True)
    learner.fit(X, y, key=jax.random.key(0), projection=U)
    learner.save(tmp_path / "m")
    loaded = load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.projection_, U)
    np.testing.assert_array_equal(np.asarray(loaded.predict(X_test)), learner.predict(X_test))


def test_the_format_is_plain_json_and_npz(data, tmp_path):
    _fitted("layerwise", data).save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "learner.json").read_text())
    assert meta["format"] == "featlearn-learner" and meta["format_version"] == FORMAT_VERSION
    assert meta["learner"] == "layerwise" and meta["config"]["width"] == 16
    assert meta["state"]["W_"] == {"$array": "W_", "jax": True}
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as npz:
        assert npz["W_"].shape == (16, 4)
    assert set(meta["rebuilt"]) == {"activation_", "dtype_"}


def test_unfitted_or_existing_target_is_refused(data, tmp_path):
    with pytest.raises(Exception, match="not fitted"):
        make_learner("layerwise", width=16).save(tmp_path / "a")
    learner = _fitted("layerwise", data)
    learner.save(tmp_path / "a")
    with pytest.raises(ConfigError, match="overwrite=True"):
        learner.save(tmp_path / "a")
    learner.save(tmp_path / "a", overwrite=True)


def _saved(data, tmp_path):
    _fitted("random-features", data).save(tmp_path / "m")
    return tmp_path / "m"


def test_missing_files_are_named(data, tmp_path):
    with pytest.raises(ConfigError, match="learner.json does not exist"):
        load(tmp_path / "nowhere")
    path = _saved(data, tmp_path)
    (path / "arrays.npz").unlink()
    with pytest.raises(ConfigError, match="arrays.npz is missing"):
        load(path)


def test_corrupt_files_are_named(data, tmp_path):
    path = _saved(data, tmp_path)
    npz = (path / "arrays.npz").read_bytes()
    (path / "arrays.npz").write_bytes(npz[: len(npz) // 2])
    with pytest.raises(ConfigError, match="arrays.npz must be a readable .npz file"):
        load(path)
    (path / "learner.json").write_text('{"format": "featlearn-learner", ')
    with pytest.raises(ConfigError, match="must be valid JSON"):
        load(path)


def _edit(path, **changes):
    meta = json.loads((path / "learner.json").read_text())
    meta.update(changes)
    (path / "learner.json").write_text(json.dumps(meta))


def test_future_format_unknown_learner_and_removed_option(data, tmp_path):
    path = _saved(data, tmp_path)
    _edit(path, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ConfigError, match=f"format_version .* got {FORMAT_VERSION + 1}.*upgrade"):
        load(path)
    _edit(path, format_version=FORMAT_VERSION, learner="perceptron")
    with pytest.raises(ConfigError, match="learner must be one of .* got 'perceptron'"):
        load(path)
    meta = json.loads((path / "learner.json").read_text())
    _edit(path, learner="random-features", config={**meta["config"], "old_option": 1})
    with pytest.raises(ConfigError, match="old_option"):
        load(path)
    _edit(path, format="something-else")
    with pytest.raises(ConfigError, match="format 'featlearn-learner'"):
        load(path)
