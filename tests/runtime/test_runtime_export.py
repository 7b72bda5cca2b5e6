"""Export: real UTC datetimes, list metrics one column per element, versions per package, only
truly nested values as JSON text, and no overwriting without --force."""

from __future__ import annotations

import json
import platform

import numpy as np
import pandas as pd
import pytest
from runtime_toy import TOY

from featlearn import ConfigError
from featlearn.cli import main
from featlearn.experiments import Experiment
from featlearn.runtime import Store, export, parse_spec, run_sweep

TIMES = ["started", "finished", "written"]


def _nested(cfg, *, seed):
    """The toy record (a list of k numbers) plus a truly nested value and a list of names."""
    record = TOY.run(cfg, seed=seed)
    record.update(grid=[[1, 2], [3]], names=["a", "b"][: cfg.k % 2 + 1])
    return record


REGISTRY = {"toy": Experiment("toy", TOY.validate, _nested)}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two ok cells with lists of 2 and 4 numbers, and one failed cell."""
    db = tmp_path_factory.mktemp("export") / "e.db"
    run_sweep(parse_spec({"experiment": "toy", "grid": {"k": [2, 4]}}), db,
              progress="quiet", registry=REGISTRY)  # fmt: skip
    run_sweep(parse_spec({"experiment": "toy", "base": {"fail": True}}), db,
              progress="quiet", registry=REGISTRY)  # fmt: skip
    with Store(db, create=False) as s:
        rows = {(r["hash"], r["replicate"]): r for r in s.rows(status=None)}
    return db, rows


def _read(path, fmt):
    if fmt == "csv":
        return pd.read_csv(path, parse_dates=TIMES)
    return pd.read_parquet(path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_times_are_utc_datetimes_that_round_trip(store, tmp_path, fmt):
    db, rows = store
    table = _read(export(db, fmt, tmp_path / f"t.{fmt}"), fmt)
    for column in TIMES:
        assert isinstance(table[column].dtype, pd.DatetimeTZDtype)
        assert str(table[column].dt.tz) == "UTC"
    for row in table.to_dict("records"):
        ref = rows[(row["hash"], row["replicate"])]
        for column in TIMES:  # Unix seconds back from the datetime, to the microsecond
            assert abs(row[column].timestamp() - ref[column]) < 2e-6
    if fmt == "csv":  # ISO 8601 text, UTC marked
        text = pd.read_csv(tmp_path / "t.csv", dtype=str)
        for column in TIMES:
            assert text[column].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z").all()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_list_metrics_are_one_column_per_element(store, tmp_path, fmt):
    db, rows = store
    table = _read(export(db, fmt, tmp_path / f"l.{fmt}"), fmt)
    assert "vector" not in table.columns and "names" not in table.columns
    assert [c for c in table.columns if c.startswith("vector.")] == [
        f"vector.{i}" for i in range(4)
    ]
    for row in table.to_dict("records"):
        ref = rows[(row["hash"], row["replicate"])]
        if ref["status"] != "ok":
            assert all(pd.isna(row[f"vector.{i}"]) for i in range(4))
            continue
        vector = ref["metrics"]["vector"]
        assert [row[f"vector.{i}"] for i in range(len(vector))] == vector  # exact
        assert all(pd.isna(row[f"vector.{i}"]) for i in range(len(vector), 4))
        names = ref["metrics"]["names"]
        assert [row[f"names.{i}"] for i in range(len(names))] == names
        assert json.loads(row["grid"]) == [[1, 2], [3]]  # truly nested: JSON text, all of it


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_versions_are_columns_and_no_other_json_text_is_left(store, tmp_path, fmt):
    db, _ = store
    table = _read(export(db, fmt, tmp_path / f"v.{fmt}"), fmt)
    assert "versions" not in table.columns
    assert set(table["versions.python"]) == {platform.python_version()}
    assert set(table["versions.numpy"]) == {np.__version__}
    texts = {
        column
        for column in table.columns
        if table[column].map(lambda v: isinstance(v, str) and v[:1] in "[{").any()
    }
    assert texts == {"grid"}  # the one truly nested value


def test_export_refuses_to_overwrite_without_force(store, tmp_path):
    db, _ = store
    out = tmp_path / "x.csv"
    out.write_text("keep me\n")
    with pytest.raises(ConfigError, match=r"x\.csv exists; pass --force"):
        export(db, "csv", out)
    assert out.read_text() == "keep me\n"
    export(db, "csv", out, force=True)
    assert len(pd.read_csv(out)) == 3


def test_cli_export_exits_2_on_an_existing_file_and_force_overwrites(store, tmp_path, capsys):
    db, _ = store
    out = tmp_path / "y.parquet"
    out.write_bytes(b"old")

    def run(*argv):
        with pytest.raises(SystemExit) as info:
            main(["export", str(db), "--format", "parquet", "-o", str(out), *argv])
            raise SystemExit(0)  # main returns on success
        return info.value.code, *capsys.readouterr()

    code, printed, err = run()
    assert code == 2 and printed == "" and out.read_bytes() == b"old"
    assert len(err.strip().splitlines()) == 1 and str(out) in err and "--force" in err
    code, printed, _ = run("--force")
    assert code == 0 and printed.strip() == str(out)
    assert len(pd.read_parquet(out)) == 3


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_empty_store_exports_its_header(tmp_path, fmt):
    db = tmp_path / "empty.db"
    Store(db).close()
    out = export(db, fmt)
    assert out == tmp_path / f"empty.{fmt}"
    table = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    assert len(table) == 0 and {"hash", "started", "backend", "command"} <= set(table.columns)
