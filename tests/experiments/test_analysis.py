"""Thresholds and exponent fits against hand-computed answers and synthetic data of known exponent."""

import math

import numpy as np
import pandas as pd
import pytest

from featlearn._errors import ConfigError
from featlearn.experiments import ExponentFit, fit_exponent, fit_exponent_from_runs, thresholds


def _curve(xs, ys, **cols):
    return pd.DataFrame({"n": xs, "relative_risk": ys, **cols})


def test_threshold_piecewise_power_law_by_hand():
    # segment 1000 -> 10000 falls from 0.1 to 0.001: y = 0.1 (n/1000)^-2, so y = 0.01 at 1000 * 10^0.5
    df = _curve([100, 1000, 10000], [1.0, 0.1, 0.001], learner="a", d=8)
    out = thresholds(df, 0.01)
    assert list(out.columns) == ["learner", "d", "n_star", "censored", "bound"]
    assert out.loc[0, "censored"] == ""
    assert out.loc[0, "n_star"] == pytest.approx(1000 * 10**0.5, rel=1e-12)
    # a crossing inside the first segment: y = (n/100)^-1 reaches 0.5 at n = 200
    out = thresholds(df, 0.5)
    assert out.loc[0, "n_star"] == pytest.approx(200.0, rel=1e-12)


def test_threshold_uses_first_crossing_of_the_median_and_exact_hits():
    # replicates: medians are 1.0, 0.04, 0.2 (goes back up), 0.01 -> first crossing of 0.1 is in
    # segment 1: y from 1.0 at 10 to 0.04 at 100: log y = -log(25) * log10(n/10); y = 0.1 at
    # n = 10 * 10^(log 10 / log 25)
    xs = [10] * 3 + [100] * 3 + [1000] * 3 + [10000] * 3
    ys = [1.0, 5.0, 0.5, 0.04, 0.01, 9.0, 0.2, 0.3, 0.1, 0.01, 0.01, 0.01]
    out = thresholds(_curve(xs, ys, learner="a", d=4), 0.1)
    assert out.loc[0, "n_star"] == pytest.approx(10 * 10 ** (math.log(10) / math.log(25)))
    # eps equal to a grid value gives that grid point exactly
    out = thresholds(_curve([10, 100], [1.0, 0.04], learner="a", d=4), 0.04)
    assert out.loc[0, "n_star"] == pytest.approx(100.0)


def test_threshold_censoring_right_and_left_and_groups():
    df = pd.concat(
        [
            _curve([100, 1000], [0.5, 0.2], learner="kr", d=8),  # never crosses 0.1
            _curve([100, 1000], [0.05, 0.01], learner="kr", d=4),  # already below at 100
            _curve([100, 1000], [0.4, 0.04], learner="lw", d=8),
        ]
    )
    out = thresholds(df, 0.1).set_index(["learner", "d"])
    assert out.loc[("kr", 8), "censored"] == "right"
    assert np.isnan(out.loc[("kr", 8), "n_star"]) and out.loc[("kr", 8), "bound"] == 1000
    assert out.loc[("kr", 4), "censored"] == "left"
    assert np.isnan(out.loc[("kr", 4), "n_star"]) and out.loc[("kr", 4), "bound"] == 100
    assert out.loc[("lw", 8), "censored"] == ""
    assert out.loc[("lw", 8), "n_star"] == pytest.approx(100 * 10 ** (math.log(4) / math.log(10)))


def test_threshold_drops_failed_cells_and_rejects_bad_input():
    df = _curve([10, 100, 100], [1.0, None, 0.01], learner="a", d=2)
    assert thresholds(df, 0.1).loc[0, "n_star"] == pytest.approx(10 * 10**0.5)
    with pytest.raises(ConfigError, match="eps"):
        thresholds(df, 0.0)
    with pytest.raises(ConfigError, match="missing \\['d'\\]"):
        thresholds(_curve([10], [1.0], learner="a"), 0.1)
    with pytest.raises(ConfigError, match="relative_risk must be finite and > 0"):
        thresholds(_curve([10, 100], [1.0, -0.1], learner="a", d=2), 0.1)
    with pytest.raises(ConfigError, match="DataFrame"):
        thresholds({"n": [1]}, 0.1)


def test_fit_exponent_exact_line_and_two_points():
    d = np.array([8.0, 16.0, 32.0])
    fit = fit_exponent(d, 7.0 * d**2.5)
    assert isinstance(fit, ExponentFit) and fit.n_points == 3
    assert fit.k == pytest.approx(2.5) and fit.intercept == pytest.approx(math.log(7.0))
    assert fit.ci_low == pytest.approx(2.5) and fit.ci_high == pytest.approx(2.5)
    two = fit_exponent([8, 16], [64, 256])
    assert two.k == pytest.approx(2.0) and two.method == "none" and np.isnan(two.ci_low)
    # censored points (NaN) are dropped
    assert fit_exponent([8, 16, 32], [64, 256, np.nan]).n_points == 2


def test_fit_exponent_recovers_known_exponent_with_calibrated_interval():
    rng = np.random.default_rng(1)
    d = np.array([8.0, 12.0, 16.0, 24.0, 32.0])
    fits = [fit_exponent(d, 50 * d**2 * np.exp(0.1 * rng.standard_normal(5)), n_boot=400, seed=i)
            for i in range(200)]  # fmt: skip
    ks = np.array([f.k for f in fits])
    # the slope's sampling sd is 0.1 / sqrt(sum (log d - mean)^2) = 0.1 / 1.1 ~ 0.091
    sd = 0.1 / np.sqrt(((np.log(d) - np.log(d).mean()) ** 2).sum())
    assert abs(ks.mean() - 2.0) < 3 * sd / np.sqrt(200)
    covered = np.mean([f.ci_low <= 2.0 <= f.ci_high for f in fits])
    assert 0.7 <= covered <= 0.99  # nominal 0.9; a residual bootstrap on 5 points undercovers a bit
    widths = np.array([f.ci_high - f.ci_low for f in fits])
    assert 1.0 * sd < np.median(widths) < 4.0 * sd  # a 90% normal interval is 3.3 sd wide


def test_fit_exponent_bad_inputs():
    with pytest.raises(ConfigError, match=">= 2 distinct d"):
        fit_exponent([8], [64])
    with pytest.raises(ConfigError, match=">= 2 distinct d"):
        fit_exponent([8, 16], [64, np.nan])
    with pytest.raises(ConfigError, match="same length"):
        fit_exponent([8, 16], [64])
    with pytest.raises(ConfigError, match="> 0"):
        fit_exponent([8, -16], [64, 10])
    with pytest.raises(ConfigError, match="level"):
        fit_exponent([8, 16], [64, 256], level=1.5)
    with pytest.raises(ConfigError, match="n_boot"):
        fit_exponent([8, 16, 32], [64, 256, 1024], n_boot=0)


def _synthetic_runs(k_by_learner, ds, seeds=3, sigma=0.15, seed=0):
    """risk = 10 (n / d^k)^-1 * lognormal noise: the median curve crosses eps at ~ (10/eps) d^k."""
    rng = np.random.default_rng(seed)
    rows = []
    for learner, k in k_by_learner.items():
        for d in ds:
            for n in np.geomspace(d**k, 1000 * d**k, 10):
                for s in range(seeds):
                    risk = 10 * (n / d**k) ** -1 * np.exp(sigma * rng.standard_normal())
                    rows.append((learner, d, n, s, risk))
    return pd.DataFrame(rows, columns=["learner", "d", "n", "seed", "relative_risk"])


def test_fit_exponent_from_runs_separates_two_and_three():
    # log-risk noise 0.1, median of 5 seeds: log n* sd ~ 0.056, slope sd ~ 0.056 / 0.76 ~ 0.074
    df = _synthetic_runs({"layerwise": 2.0, "kernel": 3.0}, [6, 8, 12, 16], seeds=5, sigma=0.1)
    out = fit_exponent_from_runs(df, 0.1, n_boot=300, seed=0).set_index("learner")
    for learner, k in (("layerwise", 2.0), ("kernel", 3.0)):
        row = out.loc[learner]
        assert row["ci_low"] <= k <= row["ci_high"] and abs(row["k"] - k) < 0.25
        assert row["ci_low"] <= row["k"] <= row["ci_high"]
        assert row["n_points"] == 4 and row["n_censored"] == 0 and row["n_boot_used"] == 300
        assert 0.05 < row["ci_high"] - row["ci_low"] < 0.6
    assert out.loc["layerwise", "ci_high"] < out.loc["kernel", "ci_low"]


def test_fit_exponent_from_runs_point_matches_thresholds_and_reports_censoring():
    df = _synthetic_runs({"a": 2.0}, [6, 8, 12], seeds=2)
    # make d = 12 never cross eps: its risks all stay high
    df.loc[df["d"] == 12, "relative_risk"] = 5.0
    out = fit_exponent_from_runs(df, 0.1, n_boot=50)
    th = thresholds(df, 0.1)
    ref = fit_exponent(th["d"], th["n_star"])
    assert out.loc[0, "k"] == pytest.approx(ref.k) and out.loc[0, "n_points"] == 2
    assert out.loc[0, "n_censored"] == 1
    # one crossing d only: the group is reported with NaN, not an exception
    df.loc[df["d"] == 8, "relative_risk"] = 5.0
    out = fit_exponent_from_runs(df, 0.1, n_boot=50)
    assert np.isnan(out.loc[0, "k"]) and out.loc[0, "method"] == "none"
