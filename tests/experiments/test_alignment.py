"""The alignment experiment: agreement with run_fit, the spectrum summary by hand, the claim."""

import numpy as np
import pytest

from featlearn._errors import ConfigError
from featlearn.experiments import EXPERIMENTS, run_alignment, run_fit, spectrum_summary

BASE = dict(target="single-he2", d=16, n=4000, width=64, n_val=1000, n_test=2000)


def test_alignment_matches_run_fit_and_shows_the_learned_direction():
    rec = run_alignment(BASE, seed=0)
    ref = run_fit(BASE, seed=0)
    assert rec["relative_risk"] == pytest.approx(ref["relative_risk"], rel=1e-9)
    assert rec["alignment"] == pytest.approx(ref["alignment"], rel=1e-9)
    assert rec["principal_angles"] == pytest.approx(ref["principal_angles"], rel=1e-9)
    assert rec["max_angle"] == max(rec["principal_angles"]) and rec["r"] == 1
    # the claim at r = 1: W concentrates on U (random directions would give 1/d = 0.06)
    assert rec["alignment"] > 0.8 and rec["max_angle"] < 0.4
    assert rec["spectral_gap"] < 0.3 and rec["top_r_energy"] > 0.8
    rf = EXPERIMENTS["alignment"].run(
        EXPERIMENTS["alignment"].validate({**BASE, "learner": "random-features"}), seed=0
    )
    assert rf["alignment"] < 0.25 and rf["spectral_gap"] > 0.5


def test_spectrum_summary_on_a_matrix_with_known_singular_values():
    rng = np.random.default_rng(0)
    Q1, _ = np.linalg.qr(rng.standard_normal((40, 6)))
    Q2, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    s = np.array([4.0, 2.0, 0.5, 0.25, 0.1, 0.05])
    out = spectrum_summary(Q1 @ np.diag(s) @ Q2.T, r=2)
    np.testing.assert_allclose(out["spectrum"], s[:4] / 4.0, rtol=1e-12)
    assert out["spectral_gap"] == pytest.approx(0.25)
    assert out["top_r_energy"] == pytest.approx(20.0 / np.sum(s**2))
    assert np.isnan(spectrum_summary(Q1[:, :2] @ np.diag(s[:2]), r=2)["spectral_gap"])
    with pytest.raises(ConfigError, match="zero"):
        spectrum_summary(np.zeros((3, 3)), r=1)


def test_alignment_config_errors():
    with pytest.raises(ConfigError, match="validation"):
        EXPERIMENTS["alignment"].validate({**BASE, "validation": "holdout"})
    with pytest.raises(ConfigError, match="learner"):
        EXPERIMENTS["alignment"].validate({**BASE, "learner": "nope"})
    with pytest.raises(ConfigError, match="unknown key"):
        EXPERIMENTS["alignment"].validate({**BASE, "widht": 3})
