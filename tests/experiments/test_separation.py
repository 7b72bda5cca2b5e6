"""Fixed-budget analysis: medians with bootstrap intervals, per-degree fractions, trends, and the
paired bootstrap of threshold exponents, each against known truth."""

import numpy as np
import pandas as pd
import pytest

from featlearn._errors import ConfigError
from featlearn.experiments import (
    budget_column,
    budget_table,
    fit_exponent_from_runs,
    median_interval,
    risk_trend,
)


def test_median_interval_matches_the_asymptotic_width():
    rng = np.random.default_rng(0)
    values = rng.standard_normal(2001)
    med, lo, hi = median_interval(values, n_boot=4000)
    # the sample median of N(0, 1) has sd sqrt(pi/2)/sqrt(n); a 90% interval spans 2 * 1.645 sd
    width = 2 * 1.645 * np.sqrt(np.pi / 2) / np.sqrt(values.size)
    assert med == pytest.approx(np.median(values))
    assert hi - lo == pytest.approx(width, rel=0.2)
    assert lo < med < hi


def test_median_interval_of_nothing_is_nan():
    assert np.isnan(median_interval([None, float("nan")])).all()


def _records():
    rows = []
    for d in (8, 16, 32):
        for scale in (0.9, 1.0, 1.2):
            rows.append({"learner": "kernel-ridge", "d": d, "n": 8 * d * d,
                         "relative_risk": 0.1 * d**0.5 * scale,
                         "learned_fraction": [None, 1.0, 0.9, 1 - d / 64 * scale]})  # fmt: skip
            rows.append({"learner": "kernel-ridge", "d": d, "n": 2 * d**3, "relative_risk": 0.2,
                         "learned_fraction": None})  # fmt: skip
    return pd.DataFrame(rows)


def test_budget_table_medians_and_fractions():
    df = _records()
    assert set(budget_column(df, 2)) == {8.0, 16.0, 32.0, 64.0}  # n = 8 d^2 and n = 2 d^3
    rows = budget_table(df[budget_column(df, 2) == 8.0])
    assert list(rows["d"]) == [8, 16, 32] and (rows["seeds"] == 3).all()
    np.testing.assert_allclose(rows["median"], 0.1 * np.array([8, 16, 32]) ** 0.5)
    assert (rows["ci_low"] <= rows["median"]).all() and (rows["median"] <= rows["ci_high"]).all()
    third = [f[3] for f in rows["fractions"]]
    np.testing.assert_allclose(third, [1 - d / 64 for d in (8, 16, 32)])
    assert all(f[0] is None and f[1] == 1.0 for f in rows["fractions"])


def test_budget_table_names_missing_columns():
    with pytest.raises(ConfigError, match="missing"):
        budget_table(pd.DataFrame({"d": [1]}))


def test_risk_trend_recovers_a_power_law():
    df = _records()
    trend = risk_trend(df[budget_column(df, 2) == 8.0])
    assert trend.k == pytest.approx(0.5, abs=1e-9)
    flat = risk_trend(df[budget_column(df, 3) == 2.0])
    assert flat.k == pytest.approx(0.0, abs=1e-9)


def test_paired_bootstrap_resamples_whole_curves():
    """Curves of one pair_seed are shifted together (a seed effect shared along n): the paired
    bootstrap keeps the shift inside each curve, so the exponent's interval still covers k = 2."""
    rows, rng = [], np.random.default_rng(1)
    for d in (8, 16, 32):
        for seed in range(4):
            shift = np.exp(0.2 * rng.standard_normal())
            for n in np.geomspace(d**2, 64 * d**2, 7):
                risk = shift * 0.1 * (8 * d**2 / n) ** 0.7
                rows.append({"learner": "a", "d": d, "n": n, "pair_seed": seed,
                             "relative_risk": risk})  # fmt: skip
    df = pd.DataFrame(rows)
    paired = fit_exponent_from_runs(df, 0.1, n_boot=300, pair="pair_seed").iloc[0]
    plain = fit_exponent_from_runs(df, 0.1, n_boot=300).iloc[0]
    assert paired["method"] == "paired-bootstrap" and plain["method"] == "replicate-bootstrap"
    assert paired["k"] == pytest.approx(plain["k"]) == pytest.approx(2.0, abs=0.25)
    assert paired["ci_low"] <= 2.0 <= paired["ci_high"] and paired["n_boot_used"] > 250
