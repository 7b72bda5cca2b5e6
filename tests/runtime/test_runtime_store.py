"""Store and sweep: one row per cell, resume after SIGKILL, concurrent writers, retries, reruns."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from runtime_helpers import cli
from runtime_toy import TOY, toy_value

from featlearn import ConfigError
from featlearn.runtime import (
    Store,
    execute_cell,
    expand,
    load_spec,
    parse_spec,
    rerun_cell,
    run_sweep,
)

HERE = Path(__file__).resolve().parent
REGISTRY = {"toy": TOY}


def _spec(tmp_path: Path, sleep: float, k=(2, 3, 4, 5), x=(1.0, 2.0, 3.0), replicates=2) -> Path:
    path = tmp_path / "toy.toml"
    path.write_text(
        f'name = "toy"\nexperiment = "runtime_toy:TOY"\nreplicates = {replicates}\n'
        f"[base]\nsleep = {sleep}\n[grid]\nk = {list(k)}\nx = {list(x)}\n"
    )
    return path


def _rows(db: Path) -> list[dict]:
    with Store(db, create=False) as store:
        return list(store.rows())


def _check_complete(db: Path, spec: Path) -> None:
    """Every cell of the spec stored exactly once, ok, with the reference record; file sound."""
    cells = expand(load_spec(spec))
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT hash, replicate FROM cells").fetchall()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(keys) == sorted(c.key for c in cells)  # exactly once each
    by_key = {(r["hash"], r["replicate"]): r for r in _rows(db)}
    for cell in cells:
        row = by_key[cell.key]
        assert row["status"] == "ok" and row["seed"] == cell.seed
        assert row["metrics"] == toy_value(cell.config["x"], cell.config["k"], cell.seed)


def test_put_never_duplicates_ok_and_replaces_failed(tmp_path):
    cells = expand(parse_spec({"experiment": "toy", "grid": {"k": [2, 3]}}), REGISTRY)
    ok = execute_cell(cells[0], registry=REGISTRY)
    failed = execute_cell(
        expand(parse_spec({"experiment": "toy", "base": {"fail": True}}), REGISTRY)[0],
        registry=REGISTRY,
    )
    assert ok.status == "ok" and failed.status == "failed" and "toy failure" in failed.error
    with Store(tmp_path / "s.db") as store:
        assert store.put(ok) is True
        assert store.put(ok) is False  # already stored: not written again
        assert store.put(failed) is True
        assert store.status(*failed.key) == "failed"
        assert store.put(failed) is True  # a failed row is replaced by its retry
        retried = [r for r in store.rows() if r["status"] == "failed"][0]
        assert retried["attempts"] == 2
        assert store.count() == 2 and store.count("ok") == 1
        row = next(store.rows(status="ok"))
    assert row["metrics"] == toy_value(1.0, 2, cells[0].seed)
    assert row["versions"]["numpy"] and row["host"] and row["finished"] >= row["started"]


def test_sweep_skips_stored_cells_retries_failed_and_reruns_one(tmp_path):
    spec = parse_spec({"experiment": "toy", "replicates": 2, "grid": {"k": [2, 3], "x": [1.0]}})
    db = tmp_path / "r.db"
    first = run_sweep(spec, db, progress="quiet", registry=REGISTRY)
    assert (first.total, first.ran, first.stored, first.skipped) == (4, 4, 4, 0)
    again = run_sweep(spec, db, progress="quiet", registry=REGISTRY)
    assert (again.ran, again.skipped) == (0, 4)
    # failed cells are kept, skipped, and re-run only with retry_failed
    bad = parse_spec({"experiment": "toy", "base": {"fail": True}, "grid": {"k": [7]}})
    assert run_sweep(bad, db, progress="quiet", registry=REGISTRY).failed == 1
    assert run_sweep(bad, db, progress="quiet", registry=REGISTRY).failed_earlier == 1
    assert run_sweep(bad, db, progress="quiet", registry=REGISTRY, retry_failed=True).ran == 1
    # one cell re-runs alone, from the store, with the same record
    row = next(r for r in _rows(db) if r["status"] == "ok" and r["replicate"] == 1)
    assert rerun_cell(db, row["hash"][:10], 1, registry=REGISTRY) == row["metrics"]
    with pytest.raises(ConfigError, match="no stored cell"):
        rerun_cell(db, "ffffffffff", 0, registry=REGISTRY)


def test_only_runs_the_chosen_cell(tmp_path):
    spec = parse_spec({"experiment": "toy", "replicates": 2, "grid": {"k": [2, 3, 4]}})
    target = expand(spec, REGISTRY)[2]
    summary = run_sweep(
        spec, tmp_path / "o.db", only=target.hash[:8], progress="quiet", registry=REGISTRY
    )
    assert summary.total == 2 and {
        (r["hash"], r["replicate"]) for r in _rows(tmp_path / "o.db")
    } == {
        (target.hash, 0),
        (target.hash, 1),
    }
    with pytest.raises(ConfigError, match="--only must be at least 4 hex digits"):
        run_sweep(spec, tmp_path / "o.db", only="zzzz", registry=REGISTRY)
    other = [c.hash for c in expand(spec, REGISTRY)]
    absent = next(f"{i:04x}" for i in range(99) if not any(h.startswith(f"{i:04x}") for h in other))
    with pytest.raises(ConfigError, match=f"--only {absent}: no cell"):
        run_sweep(spec, tmp_path / "o.db", only=absent, registry=REGISTRY)


def test_sweep_killed_with_sigkill_resumes_with_every_cell_once(tmp_path):
    spec, db = _spec(tmp_path, sleep=0.15), tmp_path / "kill.db"
    proc = cli("sweep", "--allow-import", str(spec), "--store", str(db), "-q")
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with Store(db, create=False) as store:
                    stored = store.count()
            except (ConfigError, sqlite3.OperationalError):
                stored = 0  # schema not written yet
        if stored >= 5:
            break
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no cleanup, no final commit
    proc.wait()
    assert proc.returncode == -9
    before = len(_rows(db))
    assert 5 <= before < 24, f"the sweep should have been killed mid-run; {before} rows stored"
    resumed = cli("sweep", "--allow-import", str(spec), "--store", str(db), "--json")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    summary = json.loads(out)
    assert summary["skipped"] == before and summary["stored"] == 24 - before
    _check_complete(db, spec)


def test_two_sweeps_on_one_store_at_once(tmp_path):
    spec, db = _spec(tmp_path, sleep=0.05, replicates=3), tmp_path / "both.db"
    procs = [
        cli(
            "sweep", "--allow-import", str(spec), "--store", str(db), "--json", "--set", f"name={n}"
        )
        for n in "ab"
    ]
    results = [p.communicate(timeout=180) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    summaries = [json.loads(out) for out, _ in results]
    assert sum(s["stored"] for s in summaries) == 36  # each cell counted by exactly one sweep
    assert {r["sweep"] for r in _rows(db)} == {"a", "b"}  # both really wrote at the same time
    _check_complete(db, spec)


def test_store_rejects_other_files(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ConfigError, match="not a featlearn results store"):
        Store(other, create=False)
    (tmp_path / "text.db").write_text("hello, not sqlite" * 100)
    with pytest.raises(ConfigError, match="not a featlearn results store"):
        Store(tmp_path / "text.db", create=False)
    with pytest.raises(ConfigError, match="store not found"):
        Store(tmp_path / "missing.db", create=False)


def test_records_that_are_not_json_are_failed_cells_naming_the_key(tmp_path):
    from featlearn.experiments import Experiment

    bad = Experiment("bad", TOY.validate, lambda cfg, *, seed: {"ok": 1.0, "obj": object()})
    cell = expand(parse_spec({"experiment": "bad"}), {"bad": bad})[0]
    result = execute_cell(cell, registry={"bad": bad})
    assert result.status == "failed" and "record key 'obj'" in result.error
    nan = Experiment("nan", TOY.validate, lambda cfg, *, seed: {"risk": float("nan")})
    result = execute_cell(
        expand(parse_spec({"experiment": "nan"}), {"nan": nan})[0], registry={"nan": nan}
    )
    with Store(tmp_path / "n.db") as store:
        store.put(result)
        assert result.status == "ok" and np.isnan(next(store.rows())["metrics"]["risk"])
