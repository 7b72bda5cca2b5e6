"""CLI sweep/report/export: exit codes, one-line errors; export round-trips the stored numbers."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
from runtime_helpers import run_main

from featlearn import ConfigError
from featlearn.runtime import Store, export, run_sweep
from featlearn.runtime import parse_spec as parse

SPEC = (
    'name = "toy"\nexperiment = "runtime_toy:TOY"\nreplicates = 2\n[grid]\nk = [2, 3]\nx = [1.5]\n'
)


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(SPEC)
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("gird = {}\n", "unknown key 'gird'"),
        ("[base]\nsleep = -1\n", "sleep: Input should be greater than or equal to 0"),
        ("[base]\ndie_marker = 5\n", "die_marker: Input should be a valid string"),
        ("[base]\nbogus = 1\n", "bogus"),
    ],
)
def test_bad_specs_exit_2_with_one_line(capsys, tmp_path, extra, message):
    path = tmp_path / "bad.toml"
    path.write_text(
        SPEC.replace("[grid]", extra + "[grid]") if extra.startswith("[base]") else extra + SPEC
    )
    code, out, err = run_main(
        capsys, "sweep", "--allow-import", str(path), "--store", str(tmp_path / "s.db")
    )
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "bad.toml" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dask", "nowhere"], "--dask must be 'local', 'slurm', 'pbs'"),
        (["--workers", "-2"], "--workers must be an integer >= 0"),
        (["--set", "base.x"], "--set must look like KEY.PATH=VALUE"),
        (["--only", "xyz"], "--only must be at least 4 hex digits"),
        (["--dask", "slurm", "--jobs", "2"], "dask-jobqueue"),
    ],
)
def test_bad_flags_exit_2_with_one_line(capsys, monkeypatch, spec, tmp_path, argv, message):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)
    code, _, err = run_main(
        capsys, "sweep", "--allow-import", str(spec), "--store", str(tmp_path / "s.db"), *argv
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err


def test_sweep_json_dry_run_failed_exit_and_export(capsys, spec, tmp_path):
    db = tmp_path / "s.db"
    code, out, _ = run_main(
        capsys, "sweep", "--allow-import", str(spec), "--store", str(db), "--dry-run", "--json"
    )
    assert code == 0 and json.loads(out)["to_run"] == 4
    code, out, _ = run_main(
        capsys, "sweep", "--allow-import", str(spec), "--store", str(db), "--json"
    )
    summary = json.loads(out)
    assert code == 0 and (summary["ran"], summary["stored"], summary["ok"]) == (4, 4, 4)
    code, out, _ = run_main(
        capsys, "sweep", "--allow-import", str(spec), "--store", str(db), "--set", "base.fail=true"
    )
    assert code == 1 and "ran 4 (0 ok, 4 failed)" in out and "toy failure on purpose" in out
    code, out, _ = run_main(
        capsys, "export", str(db), "--format", "csv", "-o", str(tmp_path / "x.csv")
    )
    assert code == 0 and out.strip() == str(tmp_path / "x.csv")
    assert len(pd.read_csv(tmp_path / "x.csv")) == 8
    code, _, err = run_main(capsys, "export", str(tmp_path / "none.db"))
    assert code == 2 and "store not found" in err
    code, out, _ = run_main(capsys, "report", str(db), "-o", str(tmp_path / "rep"), "--json")
    page = (tmp_path / "rep" / "index.html").read_text()
    assert code == 0 and json.loads(out)["figures"] == [] and "No risk-vs-n figure" in page
    assert page.count("toy failure on purpose") == 4  # the failed cells are listed
    code, _, err = run_main(capsys, "report", str(db), "--eps", "0")
    assert code == 2 and "eps must be > 0" in err


@pytest.mark.parametrize("mode", ["plain", "rich"])
def test_progress_reports_done_and_failed(capsys, tmp_path, mode):
    registry = {"toy": __import__("runtime_toy").TOY}
    spec = parse({"experiment": "toy", "grid": {"k": [2, 3], "fail": [False, True]}})
    run_sweep(spec, tmp_path / "p.db", progress=mode, registry=registry)
    err = capsys.readouterr().err
    assert "failed" in err and "toy failure on purpose" in err
    if mode == "plain":
        assert "4/4 done, 2 failed" in err


def _stored(db):
    with Store(db, create=False) as store:
        return {(r["hash"], r["replicate"]): r for r in store.rows(status=None)}


def test_export_csv_and_parquet_round_trip_the_numbers(tmp_path):
    db = tmp_path / "r.db"
    registry = {"toy": __import__("runtime_toy").TOY}
    run_sweep(
        parse({"experiment": "toy", "replicates": 3, "grid": {"k": [1, 4], "x": [0.1, -7.25]}}),
        db,
        progress="quiet",
        registry=registry,
    )
    run_sweep(
        parse({"experiment": "toy", "base": {"fail": True, "options": {"tag": "bad"}}}),
        db,
        progress="quiet",
        registry=registry,
    )
    stored = _stored(db)
    csv = pd.read_csv(export(db, "csv", tmp_path / "r.csv"))
    parquet = pd.read_parquet(export(db, "parquet", tmp_path / "r.parquet"))
    for table in (csv, parquet):
        assert len(table) == len(stored) == 13
        for row in table.to_dict("records"):
            ref = stored[(row["hash"], row["replicate"])]
            assert row["status"] == ref["status"] and row["seed"] == ref["seed"]
            assert row["x"] == ref["config"]["x"] and row["k"] == ref["config"]["k"]
            assert row["wall_seconds"] == ref["seconds"]
            if ref["status"] == "ok":
                assert row["value"] == ref["metrics"]["value"]  # exact, not approximate
                assert row["norm"] == ref["metrics"]["norm"]
                vector = ref["metrics"]["vector"]  # one column per element
                assert [row[f"vector.{i}"] for i in range(len(vector))] == vector
            else:
                assert row["options.tag"] == "bad" and "toy failure" in row["error"]
                assert pd.isna(row["value"])


def test_parquet_without_pyarrow_is_a_clear_error(monkeypatch, tmp_path):
    db = tmp_path / "p.db"
    Store(db).close()
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ConfigError, match=r"parquet needs pyarrow.*featlearn\[parquet\]"):
        export(db, "parquet")
