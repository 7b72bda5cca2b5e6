"""The report of a user's sweep reads as a short paper: human labels, captions stating what was
run (checked against the stored configs), the spec text embedded, tables folded, a warning when
λ sat at the edge of its grid; and a store written before specs were kept still reports."""

from __future__ import annotations

import re
import sqlite3

import numpy as np
import pandas as pd
import pytest

from featlearn.experiments import Experiment
from featlearn.plots import write_report
from featlearn.plots._generic import lambda_edge_warning
from featlearn.runtime import Store, load_spec, results_frame, run_sweep

SPEC = """
name = "paper"
experiment = "fit"
replicates = 2
[base]
target = "dls-r2p3"
noise = 0.0
width = 64
[grid]
d = [4, 8]
n = { geomspace = [2, 64], num = 4, times = "d^2", integer = true }
[cases.network]
learner = "layerwise"
[cases.kernel]
learner = "kernel-ridge"
options = { kernel = "ntk", n_lambdas = 3 }
"""


def _run(cfg, *, seed):
    """Risk c d^k / n (k = 2 for the network, 3 for the kernel); the network's λ hits the low end
    of its grid at the smallest n, the kernel's the high end at d = 8."""
    d, n, net = cfg["d"], cfg["n"], cfg["learner"] == "layerwise"
    risk = min(1.0, 0.5 * d ** (2 if net else 3) / n * (1 + 0.05 * (seed % 3)))
    edge = ("low" if n == min(2 * d * d, n) else None) if net else ("high" if d == 8 else None)
    return {"relative_risk": risk, "alignment": 0.9 if net else None, "lambda_at_edge": edge,
            "energy_per_degree": [0.0, 0.0, 0.5, 0.5]}  # fmt: skip


REGISTRY = {"fit": Experiment("fit", lambda data, source="": dict(data), _run)}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    work = tmp_path_factory.mktemp("paper")
    (work / "paper.toml").write_text(SPEC)
    run_sweep(
        load_spec(work / "paper.toml"), work / "paper.db", progress="quiet", registry=REGISTRY
    )
    return work / "paper.db"


@pytest.fixture(scope="module")
def page(store, tmp_path_factory) -> str:
    out = write_report(store, tmp_path_factory.mktemp("rep") / "r", eps=0.2)
    return open(out["html"], encoding="utf-8").read()


def _captions(page: str) -> list[str]:
    return re.findall(r'<p class="caption">(.*?)</p>', page, re.S)


def test_captions_state_what_was_run_from_the_records(store, page):
    frame = results_frame(store)
    n_min, n_max = int(frame["n"].min()), int(frame["n"].max())
    risk, thresholds = _captions(page)[:2]
    for text in (risk, thresholds):
        assert "target dls-r2p3" in text
        assert "d ∈ {4, 8}" in text
        assert f"n from {n_min} to {n_max}" in text
        assert "width m = 64 (networks)" in text and "2 replicates per cell" in text
        assert "label noise σ² = 0" in text
    assert "90% percentile-bootstrap interval of the median" in risk and "ε = 0.2" in risk
    assert "reference slopes n* ∝ d²" in thresholds
    assert "90% bootstrap over replicates" in thresholds and "500 draws" in thresholds


def test_labels_are_human_and_integers_stay_integers(page):
    assert "NTK kernel ridge" in page and "layer-wise network" in page
    assert "options.kernel=ntk" not in page and "learner=" not in page
    assert "n_lambdas = 3" in page or "<td>3</td>" in page
    text = re.sub(r'src="data:[^"]+"', "", page)
    assert not re.search(r"(?<![\d.])3\.0(?!\d)", text)  # n_lambdas = 3 is never printed 3.0


def test_spec_text_is_embedded_and_tables_folded(page):
    assert "<pre>" in page and "name = &quot;paper&quot;" in page
    assert "options = { kernel = &quot;ntk&quot;, n_lambdas = 3 }" in page
    for table_id in ("medians", "records", "thresholds", "exponents", "config"):
        start = page.index(f'<table id="{table_id}"')
        assert page.rfind("<details", 0, start) > page.rfind("</details>", 0, start), table_id


def test_lambda_edge_warning_counts_cells_per_learner(store, page):
    frame = results_frame(store)
    net = frame[frame["learner"] == "layerwise"]
    low = int((net["lambda_at_edge"] == "low").sum())
    high = int((frame["lambda_at_edge"] == "high").sum())
    assert low > 0 and high > 0
    kernel = frame[frame["learner"] == "kernel-ridge"]
    assert (f"NTK kernel ridge: {high} at the high end of {len(kernel)} cells; layer-wise "
            f"network: {low} at the low end of {len(net)} cells.") in page  # fmt: skip


def test_no_lambda_edge_warning_without_the_key_or_without_an_edge():
    df = pd.DataFrame({"learner": ["layerwise"] * 3, "relative_risk": [0.1, 0.2, 0.3]})
    assert lambda_edge_warning(df, ["learner"]) == ""
    df["lambda_at_edge"] = [None, None, None]
    assert lambda_edge_warning(df, ["learner"]) == ""
    df["lambda_at_edge"] = ["high", None, "high"]
    assert "2 at the high end of 3 cells" in lambda_edge_warning(df, [])


def test_a_store_without_spec_text_still_reports(store, tmp_path):
    old = tmp_path / "old.db"
    with sqlite3.connect(store) as src, sqlite3.connect(old) as dst:
        src.backup(dst)
    with sqlite3.connect(old) as conn:  # as a store written before provenance and specs
        conn.execute("DELETE FROM meta WHERE key LIKE 'spec:%'")
        present = {row[1] for row in conn.execute("PRAGMA table_info(cells)")}
        for column in ("backend", "devices", "argv", "spec"):
            if column in present:
                conn.execute(f"ALTER TABLE cells DROP COLUMN {column}")
    with Store(old, create=False) as db:
        assert not getattr(db, "specs", dict)()
    page = open(write_report(old, tmp_path / "rep", eps=0.2)["html"], encoding="utf-8").read()
    assert "<pre>" not in page and "holds no spec text" in page
    assert "NTK kernel ridge" in page and "reference slopes" in page


class _Keep:
    """Stands in for the report's figure store: keeps each figure."""

    def __init__(self):
        self.figs = {}

    def add(self, fig, stem, alt):
        self.figs[stem] = fig
        return f"<img alt={alt!r}>"


def test_a_transfer_sweep_gets_its_figure_with_the_kernel_it_used():
    from featlearn.plots._generic import _transfer_parts

    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        [{"d": d, "n_source": 64 * d * d, "n_target": nt, "replicate": r, "hash": f"{d}-{nt}",
          "options.kernel-ridge.kernel": "nngp",
          **{f"{m}_relative_risk": float(rng.uniform(0.05, 1)) for m in ("transfer", "kernel")}}
         for d in (4, 8, 16) for nt in (64, 256) for r in range(3)]
    )  # fmt: skip
    keep = _Keep()
    parts = _transfer_parts(df, ["n_source", "n_target"], keep, "")
    assert "n_target ∈ {64, 256}" in parts[-1] and "d ∈ {4, 8, 16}" in parts[-1]
    fig = keep.figs["transfer_vs_d"]
    assert len(fig.axes) == 2 and len({ax.get_ylim() for ax in fig.axes}) == 1  # shared y
    for ax, nt in zip(fig.axes, (64, 256), strict=True):
        lines = {ln.get_label(): ln for ln in ax.lines}
        assert set(lines) == {"transfer (frozen features, new head)", "NNGP kernel ridge"}
        for label, m in (("NNGP kernel ridge", "kernel"), ("transfer (frozen features, new head)",
                                                           "transfer")):  # fmt: skip
            want = [np.median(df[(df.d == d) & (df.n_target == nt)][f"{m}_relative_risk"])
                    for d in (4, 8, 16)]  # fmt: skip
            np.testing.assert_allclose(lines[label].get_ydata(), want, rtol=1e-12)
    assert _transfer_parts(df.assign(width=[32, 64] * 9), ["width"], keep, "") == []
