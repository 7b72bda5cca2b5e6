"""Processes: a worker-killing cell is the only one blamed; SIGTERM/SIGINT/SIGKILL of the sweep
leave no live worker and a consistent store, with one line saying what was kept."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest
from runtime_helpers import HERE, alive, children, cli, one_line
from runtime_toy import toy_value

from featlearn.runtime import Store, expand, parse_spec, run_sweep


@pytest.fixture(autouse=True)
def _toy_importable(monkeypatch):
    """Worker processes import the toy experiments from tests/runtime."""
    monkeypatch.setenv("PYTHONPATH", str(HERE))


def _rows(db: Path) -> dict[tuple[str, int], dict]:
    with Store(db, create=False) as store:
        return {(r["hash"], r["replicate"]): r for r in store.rows(status=None)}


def test_only_the_cell_that_kills_its_worker_is_stored_as_failed(tmp_path):
    """Two workers, six innocent cells and one that always kills its worker: the pool breaks
    with several cells in flight, yet only the culprit is charged, after dying alone 3 times."""
    spec = parse_spec(
        {
            "experiment": "runtime_toy:TOY",
            "base": {"sleep": 0.2},
            "cases": {
                "innocent": {"grid": {"k": [2, 3, 4, 5, 6, 7]}},
                "culprit": {"die_always": True, "k": 9},
            },
        }
    )
    db = tmp_path / "blame.db"
    summary = run_sweep(spec, db, workers=2, progress="quiet", shuffle=False)
    rows = _rows(db)
    assert (summary.ok, summary.failed, len(rows)) == (6, 1, 7)
    for cell in expand(spec):
        row = rows[cell.key]
        if cell.config["die_always"]:
            assert row["status"] == "failed" and row["error"].startswith("WorkerDied")
            assert row["attempts"] == 3
        else:  # never charged for the culprit's deaths, and the right record
            assert row["status"] == "ok" and row["attempts"] == 1
            assert row["metrics"] == toy_value(1.0, cell.config["k"], cell.seed)


def _spec(tmp_path: Path, cells: int, sleep: float) -> Path:
    path = tmp_path / "slow.toml"
    path.write_text(
        f'experiment = "runtime_toy:TOY"\n[base]\nsleep = {sleep}\n'
        f"[grid]\nk = {list(range(1, cells + 1))}\n"
    )
    return path


def _start(spec: Path, db: Path, *extra: str):
    """A sweep in a subprocess, returned once it has stored at least one cell."""
    proc = cli("sweep", str(spec), "--store", str(db), "-q", "--allow-import", *extra)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if db.exists() and len(_rows(db)) >= 1:
                return proc
        except Exception:  # the schema may not be written yet (ConfigError, sqlite3.Error)
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the sweep stored nothing in 120 s: {proc.communicate()}")


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


@pytest.mark.parametrize(
    ("signum", "workers"),
    [(signal.SIGTERM, 2), (signal.SIGHUP, 2), (signal.SIGINT, 0)],
)
def test_signal_stops_workers_keeps_the_store_and_says_what_was_kept(tmp_path, signum, workers):
    spec, db = _spec(tmp_path, 40, sleep=0.4), tmp_path / "sig.db"
    proc = _start(spec, db, "--workers", str(workers))
    workers_pids = children(proc.pid)
    assert len(workers_pids) >= workers
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    line = one_line(err)
    assert f"interrupted by {signal.Signals(signum).name}" in line and "resume" in line
    assert not _gone_within(workers_pids, 5.0), "workers outlived the interrupted sweep"
    rows = _rows(db)
    kept = int(line.split("this sweep stored ")[1].split()[0])
    assert 1 <= kept == len(rows) < 40  # what the line says is what the store holds
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert all(r["status"] == "ok" for r in rows.values())


def test_workers_exit_when_the_sweep_is_killed(tmp_path):
    """SIGKILL (the OOM killer): no handler runs, yet the pool's workers notice and exit."""
    spec, db = _spec(tmp_path, 40, sleep=0.4), tmp_path / "orphan.db"
    proc = _start(spec, db, "--workers", "2")
    workers_pids = children(proc.pid)
    assert len(workers_pids) >= 2
    proc.kill()
    proc.communicate(timeout=30)
    assert not _gone_within(workers_pids, 5.0), "workers outlived their killed parent"
