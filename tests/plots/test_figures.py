"""The figure functions draw into a user's own axes (``ax=``) and return the figure; the drawn
curves are the medians of the table, checked against a plain loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from featlearn import ConfigError
from featlearn.plots import alignment_figure, risk_figure, threshold_figure


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        {
            "learner": learner,
            "d": d,
            "n": n,
            "replicate": rep,
            "relative_risk": float(rng.uniform(0.01, 1.0)),
            "alignment": float(rng.uniform(0.0, 1.0)),
        }
        for learner in ("layerwise", "kernel-ridge")
        for d in (8, 16)
        for n in (64, 256, 1024)
        for rep in range(5)
    ]
    return pd.DataFrame(rows)


def _medians(df, learner, d, y):
    """The median of ``y`` per n for one learner and d, by a plain loop."""
    sub = df[(df.learner == learner) & (df.d == d)]
    ns = sorted(set(sub.n))
    return ns, [
        float(np.median([v for n2, v in zip(sub.n, sub[y], strict=True) if n2 == n])) for n in ns
    ]


@pytest.mark.parametrize(
    "draw, y", [(risk_figure, "relative_risk"), (alignment_figure, "alignment")]
)
def test_panels_go_into_the_users_axes(table, draw, y):
    fig = Figure()
    axes = fig.subplots(1, 3)  # one more than the two groups: the extra one is left alone
    out = draw(table, ["learner"], ax=axes)
    assert out is fig
    assert len(fig.axes) == 3 and not axes[2].lines
    # groups sorted by name: kernel-ridge, then layerwise; one median curve per d, d sorted
    names = {"kernel-ridge": "kernel ridge", "layerwise": "layer-wise network"}
    for ax, learner in zip(axes[:2], ("kernel-ridge", "layerwise"), strict=True):
        assert ax.get_title() == names[learner]
        # errorbar keeps its label on the container; lines[0] of a container is the median curve
        curves = [(c.get_label(), c.lines[0]) for c in ax.containers]
        assert len(curves) == 2
        for (label, line), d in zip(curves, (8, 16), strict=True):
            assert label == f"d = {d}"
            ns, med = _medians(table, learner, d, y)
            np.testing.assert_allclose(line.get_xdata(), ns)
            np.testing.assert_allclose(line.get_ydata(), med, rtol=1e-12)


def test_one_group_into_a_single_axes_of_a_subfigure(table):
    fig = Figure()
    left, _ = fig.subfigures(1, 2)
    ax = left.subplots()
    one = table[table.learner == "layerwise"]
    assert alignment_figure(one, [], ax=ax) is fig  # the top-level figure, not the subfigure
    assert ax.get_ylim() == pytest.approx((-0.02, 1.02))


def test_wrong_number_of_axes_is_a_config_error(table):
    fig = Figure()
    with pytest.raises(ConfigError, match="ax must be .* at least 2 Axes .*got Axes of 1"):
        risk_figure(table, ["learner"], ax=fig.subplots())
    with pytest.raises(ConfigError, match="ax must be"):
        risk_figure(table, ["learner"], ax=["not", "axes"])


def test_without_ax_a_new_figure_per_call(table):
    a, b = risk_figure(table, ["learner"]), risk_figure(table, ["learner"])
    assert isinstance(a, Figure) and a is not b
    assert sum(ax.get_visible() for ax in a.axes) == 2


def test_threshold_figure_into_users_axes_draws_the_fit_line():
    th = pd.DataFrame(
        {
            "learner": ["layerwise"] * 3,
            "d": [8, 16, 32],
            "n_star": [100.0, 400.0, 1600.0],
            "censored": ["", "", ""],
            "bound": [np.nan] * 3,
        }
    )
    fits = pd.DataFrame(
        [
            {
                "learner": "layerwise",
                "k": 2.0,
                "intercept": np.log(100 / 64),
                "ci_low": 1.9,
                "ci_high": 2.1,
            }
        ]
    )
    fig = Figure()
    ax = fig.subplots(1, 2)[1]
    assert threshold_figure(th, fits, ["learner"], eps=0.1, ax=ax) is fig
    lines = {line.get_label(): line for line in ax.lines}
    points = ax.lines[0]
    np.testing.assert_allclose(points.get_ydata(), th.n_star)
    (fit_label,) = [k for k in lines if k.startswith("layer-wise network: k = ")]
    assert "k = 2.00 [1.90, 2.10]" in fit_label
    line = lines[fit_label]
    ds = np.asarray(line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), (100 / 64) * ds**2, rtol=1e-12)
    with pytest.raises(ConfigError, match="ax must be"):
        threshold_figure(th, fits, ["learner"], eps=0.1, ax=fig.subplots(1, 2))


def test_threshold_figure_draws_reference_slopes_through_the_smallest_d():
    """n* ∝ d² and ∝ d³ through the geometric mean of the crossing thresholds at the smallest d."""
    th = pd.DataFrame(
        {
            "learner": ["a", "a", "a", "b", "b", "b"],
            "d": [8, 16, 32, 8, 16, 32],
            "n_star": [100.0, 400.0, 1600.0, 400.0, 3200.0, np.nan],
            "censored": ["", "", "", "", "", "right"],
            "bound": [np.nan] * 5 + [30000.0],
        }
    )
    fits = pd.DataFrame(
        [
            {"learner": "a", "k": 2.0, "intercept": np.log(100 / 64), "ci_low": 1.9, "ci_high": 2.1},
            {"learner": "b", "k": 3.0, "intercept": np.log(400 / 512), "ci_low": np.nan,
             "ci_high": np.nan},
        ]
    )  # fmt: skip
    ax = threshold_figure(th, fits, ["learner"], eps=0.1).axes[0]
    refs = {line.get_label(): line for line in ax.lines if "reference" in line.get_label()}
    assert set(refs) == {"reference n* ∝ d²", "reference n* ∝ d³"}
    anchor = np.sqrt(100.0 * 400.0)  # geometric mean of the two thresholds at d = 8
    for power, label in ((2, "reference n* ∝ d²"), (3, "reference n* ∝ d³")):
        x, y = (np.asarray(v, np.float64) for v in refs[label].get_data())
        assert x[0] == 8 and x[-1] == 32
        np.testing.assert_allclose(y, anchor * (x / 8) ** power, rtol=1e-12)
        slope = np.polyfit(np.log(x), np.log(y), 1)[0]
        assert slope == pytest.approx(power, abs=1e-9)


def _spread_table() -> pd.DataFrame:
    """Two learners whose risks live on very different scales (0.7-0.9 and 0.01-0.3)."""
    rng = np.random.default_rng(1)
    rows = []
    for learner, (lo, hi) in (("random-features", (0.7, 0.9)), ("layerwise", (0.01, 0.3))):
        for n in (64, 256, 1024):
            for rep in range(4):
                risk = float(rng.uniform(lo, hi))
                rows.append({"learner": learner, "d": 8, "n": n, "replicate": rep,
                             "relative_risk": risk})  # fmt: skip
    return pd.DataFrame(rows)


def test_risk_panels_share_one_y_range_and_draw_eps():
    df = _spread_table()
    fig = risk_figure(df, ["learner"], eps=0.1)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 2
    limits = {ax.get_ylim() for ax in shown}
    assert len(limits) == 1  # the same range on both panels
    (low, high), scales = limits.pop(), {ax.get_yscale() for ax in shown}
    assert scales == {"log"}
    medians = df.groupby(["learner", "n"])["relative_risk"].median()
    assert low <= medians.min() and high >= medians.max()  # both learners' curves fit in it
    for ax in shown:
        (eps_line,) = [ln for ln in ax.lines if ln.get_label() == "ε = 0.1"]
        assert set(np.asarray(eps_line.get_ydata(), float)) == {0.1}
    assert not any("ε" in ln.get_label() for ax in risk_figure(df, ["learner"]).axes
                   for ln in ax.lines)  # fmt: skip


def test_risk_bars_are_the_claims_bootstrap_interval_of_the_median():
    """The bars are featlearn.experiments.median_interval's (the claims' and README's method)."""
    from featlearn.experiments import median_interval

    df = _spread_table()
    ax = risk_figure(df, ["learner"]).axes[0]  # groups sorted: layerwise first
    (bars,) = ax.containers
    line, _, (segments,) = bars.lines
    sub = df[df.learner == "layerwise"]
    for n, (x, y), seg in zip(
        (64, 256, 1024), line.get_xydata(), segments.get_segments(), strict=True
    ):
        med, lo, hi = median_interval(sub[sub.n == n].relative_risk, level=0.9, n_boot=2000, seed=0)
        assert (x, y) == (n, pytest.approx(med, rel=1e-12))
        np.testing.assert_allclose(seg[:, 1], [lo, hi], rtol=1e-12)
        assert lo <= med <= hi
