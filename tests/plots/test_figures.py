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
    for ax, learner in zip(axes[:2], ("kernel-ridge", "layerwise"), strict=True):
        assert "learner=" + learner in ax.get_title()
        # errorbar keeps its label on the container; lines[0] of a container is the median curve
        curves = [(c.get_label(), c.lines[0]) for c in ax.containers]
        assert len(curves) == 2
        for (label, line), d in zip(curves, (8, 16), strict=True):
            assert label == f"d={d}"
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
    points, line = ax.lines[0], ax.lines[-1]
    np.testing.assert_allclose(points.get_ydata(), th.n_star)
    ds = np.asarray(line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), (100 / 64) * ds**2, rtol=1e-12)
    assert "k = 2.00 [1.90, 2.10]" in line.get_label()
    with pytest.raises(ConfigError, match="ax must be"):
        threshold_figure(th, fits, ["learner"], eps=0.1, ax=fig.subplots(1, 2))
