"""Every shipped spec parses and expands; every smoke size runs end to end into a temporary store."""

import tomllib

import numpy as np
import pytest

from featlearn._errors import ConfigError
from featlearn.experiments import SHIPPED_SPECS, fit_exponent_from_runs, spec_path, thresholds
from featlearn.runtime import expand, load_spec, results_frame, run_sweep


@pytest.mark.parametrize("name", SHIPPED_SPECS)
def test_full_spec_expands_and_matches_its_smoke_size(name):
    full, smoke = load_spec(spec_path(name)), load_spec(spec_path(name, smoke=True))
    cells = expand(full)  # validates every cell's config with its experiment
    assert len(cells) >= 6 and full.name == smoke.name == name
    assert full.experiment == smoke.experiment
    assert [c.name for c in full.cases] == [c.name for c in smoke.cases]
    raw_full = tomllib.loads(spec_path(name).read_text())
    raw_smoke = tomllib.loads(spec_path(name, smoke=True).read_text())
    assert set(raw_full["base"]) == set(raw_smoke["base"])  # smoke changes sizes, not the setup
    assert len(expand(smoke)) < len(cells)


def _run(name, tmp_path):
    spec = load_spec(spec_path(name, smoke=True))
    summary = run_sweep(spec, tmp_path / f"{name}.sqlite", workers=0, progress="quiet")
    frame = results_frame(tmp_path / f"{name}.sqlite", status=None)
    assert (frame["status"] == "ok").all(), frame["error"].dropna().tolist()
    assert len(frame) == len(expand(spec)) and summary.to_dict()
    return frame


def test_sample_complexity_smoke_runs_and_feeds_the_analysis(tmp_path):
    frame = _run("sample-complexity", tmp_path)
    assert set(frame["learner"]) == {"layerwise", "random-features", "kernel-ridge", "rfm"}
    assert np.isfinite(frame["relative_risk"]).all() and (frame["relative_risk"] > 0).all()
    th = thresholds(frame, 0.5)
    assert set(th["censored"]) <= {"", "left", "right"} and len(th) == 5
    fits = fit_exponent_from_runs(frame, 0.5, n_boot=20)
    assert list(fits["learner"]) == ["kernel-ridge", "layerwise", "random-features", "rfm"]


def test_transfer_smoke_runs(tmp_path):
    frame = _run("transfer", tmp_path)
    keys = ("transfer", "scratch", "random_features", "kernel")
    for key in (f"{k}_relative_risk" for k in keys):
        assert np.isfinite(frame[key]).all()
    assert (frame["source_alignment"] > 0).all()


def test_alignment_smoke_runs(tmp_path):
    frame = _run("alignment", tmp_path)
    assert ((frame["alignment"] > 0) & (frame["alignment"] <= 1)).all()
    assert (frame["max_angle"] >= 0).all() and frame["spectrum"].map(len).eq(4).all()


def test_spec_path_rejects_unknown_names():
    with pytest.raises(ConfigError, match="spec must be one of"):
        spec_path("nope")
