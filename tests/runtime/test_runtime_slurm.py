"""A real scheduler: a sweep submitted to SLURM through dask-jobqueue (``--dask slurm``) brings
every cell back once, even when one of its batch jobs is cancelled mid-sweep (scancel)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

from runtime_helpers import HERE, cli
from runtime_toy import toy_value

from featlearn.runtime import Store, expand, load_spec

CELLS = 12


def _jobs(name: str) -> list[str]:
    out = subprocess.run(
        ["squeue", "-h", "-n", name, "-o", "%i %t"], capture_output=True, text=True
    )
    return [line.split()[0] for line in out.stdout.splitlines() if line.split()[1] == "R"]


def _stored(db) -> int:
    try:
        with Store(db, create=False) as store:
            return store.count()
    except Exception:  # not created yet
        return 0


def test_slurm_sweep_survives_a_cancelled_job_with_every_cell_once(slurm, tmp_path, monkeypatch):
    spec = tmp_path / "slurm.toml"
    spec.write_text(
        'experiment = "runtime_toy:TOY"\n[base]\nsleep = 2.5\n'
        f"[grid]\nk = {list(range(1, CELLS + 1))}\n"
    )
    db, name = tmp_path / "slurm.db", f"featlearn-test-{uuid.uuid4().hex[:8]}"
    # Loopback only: the scheduler (in the sweep's process) and the workers listen on lo.
    monkeypatch.setenv("DASK_JOBQUEUE__SLURM__INTERFACE", "lo")
    monkeypatch.setenv("DASK_JOBQUEUE__SLURM__NAME", name)
    monkeypatch.setenv("DASK_JOBQUEUE__SLURM__LOG_DIRECTORY", str(tmp_path / "logs"))
    monkeypatch.setenv("DASK_JOBQUEUE__SLURM__WALLTIME", "00:15:00")
    monkeypatch.setenv("PYTHONPATH", str(HERE))
    argv = ["sweep", str(spec), "--allow-import", "--store", str(db), "--json", "--dask", "slurm"]
    argv += ["--jobs", "2", "--cores", "1", "--memory", "1GB", "--queue", slurm]
    proc = cli(*argv)
    cancelled = None
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and proc.poll() is None and cancelled is None:
            running = _jobs(name)
            if len(running) == 2 and _stored(db) >= 1:  # both jobs up, cells flowing
                cancelled = running[0]
                subprocess.run(["scancel", cancelled], check=True, timeout=30)
            time.sleep(0.5)
        out, err = proc.communicate(timeout=500)
    finally:
        proc.kill()
        for job in _jobs(name):
            subprocess.run(["scancel", job], timeout=30)
    assert cancelled is not None, f"no job was running mid-sweep to cancel: {err[-2000:]}"
    assert proc.returncode == 0, err[-2000:]
    summary = json.loads(out)
    assert summary["stored"] == CELLS and summary["failed"] == 0
    cells = expand(load_spec(spec))
    with Store(db, create=False) as store:
        rows = {(r["hash"], r["replicate"]): r for r in store.rows(status=None)}
    assert set(rows) == {c.key for c in cells}  # every cell, once (the primary key)
    for cell in cells:
        row = rows[cell.key]
        assert row["status"] == "ok"
        assert row["metrics"] == toy_value(1.0, cell.config["k"], cell.seed)
