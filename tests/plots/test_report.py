"""The HTML report: exists, embeds its figures, its tables hold the stored numbers; degrades gracefully."""

from __future__ import annotations

import base64
import re
import statistics
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from runtime_toy import CURVE, TOY  # noqa: E402

from featlearn import ConfigError  # noqa: E402
from featlearn.experiments import thresholds  # noqa: E402
from featlearn.plots import staircase_levels, write_report  # noqa: E402
from featlearn.runtime import Store, parse_spec, results_frame, run_sweep  # noqa: E402

REGISTRY = {"curve": CURVE, "toy": TOY}
EPS = 0.1


class _Tables(HTMLParser):
    """Every <table id=...> of a page as a list of rows of cell texts (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._id = self._row = self._text = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._id = dict(attrs).get("id")
            self.tables[self._id] = []
        elif tag == "tr" and self._id:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._text = ""

    def handle_data(self, data):
        if self._text is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._text is not None:
            self._row.append(self._text)
            self._text = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._id].append(self._row)
            self._row = None
        elif tag == "table":
            self._id = None


def _parse(path: Path) -> tuple[str, dict[str, list[dict[str, str]]]]:
    text = path.read_text()
    parser = _Tables()
    parser.feed(text)
    tables = {
        k: [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        for k, rows in parser.tables.items()
        if k != "overview"
    }
    return text, tables


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "curves.db"
    curves = parse_spec(
        {
            "experiment": "curve",
            "replicates": 3,
            "grid": {
                "d": [4, 8, 16],
                "n": {"geomspace": [0.5, 200], "num": 9, "times": "d^2", "integer": True},
            },
            "cases": {"fast": {"learner": "fast", "k": 2.0}, "slow": {"learner": "slow", "k": 3.0}},
        }
    )
    run_sweep(curves, path, progress="quiet", registry=REGISTRY)
    broken = parse_spec({"experiment": "toy", "base": {"fail": True}})
    run_sweep(broken, path, progress="quiet", registry=REGISTRY)
    return path


@pytest.fixture(scope="module")
def report(store, tmp_path_factory):
    return write_report(store, tmp_path_factory.mktemp("out") / "rep", eps=EPS)


def test_report_embeds_figures_and_writes_png_pdf(report):
    result = report
    text = Path(result["html"]).read_text()
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    names = {Path(p).stem for p in result["figures"]}
    assert names == {"curve-risk_vs_n", "curve-thresholds", "curve-alignment_vs_n"}
    assert len(embedded) == len(result["figures"]) == len(result["pdf"]) == 3
    for data, png, pdf in zip(embedded, result["figures"], result["pdf"], strict=True):
        raw = base64.b64decode(data)
        assert raw.startswith(b"\x89PNG") and raw == Path(png).read_bytes()
        assert Path(pdf).read_bytes().startswith(b"%PDF")
    assert "<img" in text and 'src="http' not in text  # self-contained


def test_report_tables_hold_the_stored_numbers(store, report):
    _, tables = _parse(Path(report["html"]))
    with Store(store, create=False) as db:
        rows = [r for r in db.rows(status="ok") if r["experiment"] == "curve"]
    # every record, exactly (floats printed by repr)
    records = tables["records-curve"]
    assert len(records) == len(rows) == 2 * 3 * 27
    stored = {(r["hash"][:12], r["replicate"]): r for r in rows}
    for rec in records:
        row = stored[(rec["hash"], int(rec["replicate"]))]
        assert float(rec["relative_risk"]) == row["metrics"]["relative_risk"]
        assert float(rec["alignment"]) == row["metrics"]["alignment"]
        assert int(rec["n"]) == row["config"]["n"] and int(rec["seed"]) == row["seed"]
    # medians over replicates, to the 6 digits printed
    medians = tables["medians-curve"]
    assert len(medians) == 2 * 27
    for med in medians:
        group = [
            r["metrics"]["relative_risk"]
            for r in rows
            if r["config"]["learner"] == med["learner"]
            and r["config"]["d"] == int(med["d"])
            and r["config"]["n"] == int(med["n"])
        ]
        assert int(med["replicates"]) == len(group) == 3
        assert float(med["relative_risk"]) == pytest.approx(statistics.median(group), rel=1e-5)
    # failed cells are listed with their error
    assert [f["error"] for f in tables["failed"]] == ["ValueError: toy failure on purpose"]


def test_report_thresholds_and_exponents(store, report):
    _, tables = _parse(Path(report["html"]))
    frame = results_frame(store)
    frame = frame[frame["experiment"] == "curve"].rename(columns={"k": "k (config)"})
    expected = thresholds(frame, EPS, by=["k (config)", "learner", "d"])
    got = tables["thresholds-curve"]
    assert len(got) == len(expected) == 6
    for row, want in zip(got, expected.itertuples(index=False), strict=True):
        assert row["censored"] == want.censored
        if want.censored == "":
            assert float(row["n_star"]) == pytest.approx(want.n_star, rel=1e-5)
    # the toy's law: n* = d^k / eps up to noise, so the fitted exponents are near 2 and 3
    exps = {r["learner"]: r for r in tables["exponents-curve"]}
    assert abs(float(exps["fast"]["k"]) - 2.0) < 0.25
    assert abs(float(exps["slow"]["k"]) - 3.0) < 0.35
    assert (
        float(exps["fast"]["ci_low"]) <= float(exps["fast"]["k"]) <= float(exps["fast"]["ci_high"])
    )


def test_report_degrades_without_enough_dimensions(tmp_path):
    path = tmp_path / "one-d.db"
    spec = parse_spec(
        {
            "experiment": "curve",
            "replicates": 2,
            "base": {"d": 6},
            "grid": {"n": [10, 40, 400, 4000]},
        }
    )
    run_sweep(spec, path, progress="quiet", registry=REGISTRY)
    result = write_report(path, tmp_path / "rep")
    text = Path(result["html"]).read_text()
    assert "fewer than 2 dimensions d" in text and "No threshold figure" in text
    assert {Path(p).stem for p in result["figures"]} == {"risk_vs_n", "alignment_vs_n"}
    empty = tmp_path / "empty.db"
    Store(empty).close()
    assert "no successful cell" in Path(write_report(empty, tmp_path / "rep2")["html"]).read_text()
    with pytest.raises(ConfigError, match="store not found"):
        write_report(tmp_path / "missing.db", tmp_path / "rep3")


def test_staircase_levels_are_energy_above_degree():
    energy = [0.5, 0.2, 0.3, 0.5]  # E_0 = mean^2 is not part of the variance
    assert np.allclose(staircase_levels(energy), [1.0, 0.8 / 1.0, 0.5 / 1.0])
    assert np.allclose(staircase_levels(energy, relative=False), [1.0, 0.8, 0.5])
