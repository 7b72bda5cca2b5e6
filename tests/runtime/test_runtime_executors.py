"""Executors: in-process, process pool and a real Dask LocalCluster give the same rows; a worker
that dies mid-cell leads to a retry, not a lost cell; dask-jobqueue options and missing extra."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from runtime_toy import toy_value

from featlearn import ConfigError
from featlearn.runtime import Store, expand, make_executor, parse_spec, run_sweep
from featlearn.runtime._executors import _jobqueue_cluster

HERE = Path(__file__).resolve().parent
FIT_BASE = {"learner": "layerwise", "d": 5, "n": 200, "width": 16, "n_val": 200, "n_test": 200}


@pytest.fixture(autouse=True)
def _toy_importable(monkeypatch):
    """Worker processes import the toy experiments from tests/runtime."""
    monkeypatch.setenv("PYTHONPATH", str(HERE))


def _table(db: Path) -> dict[tuple[str, int], tuple]:
    """Stored rows by cell, without wall-clock timings (the fit record's own ``seconds``)."""
    with Store(db, create=False) as store:
        return {
            (r["hash"], r["replicate"]): (
                r["status"],
                r["seed"],
                r["config"],
                {k: v for k, v in (r["metrics"] or {}).items() if k != "seconds"},
            )
            for r in store.rows(status=None)
        }


TOY_SPEC = {
    "experiment": "runtime_toy:TOY",
    "replicates": 2,
    "grid": {"k": [2, 3], "x": [1.0, -2.0]},
}


# Large enough for OpenBLAS to split its sums across threads: with 2 BLAS threads (in-process on
# 2 cores) and 1 (workers) this cell's risks differed in the last bits (0.07616398023683554 vs
# ...564) before every cell ran with FEATLEARN_BLAS_THREADS threads.
BLAS_BASE = {"learner": "kernel-ridge", "d": 20, "n": 1000, "n_val": 500, "n_test": 500}


def test_in_process_pool_and_dask_local_cluster_give_bit_identical_rows(tmp_path):
    """Toy cells and real fit cells, stored in-process, from a 1-worker process pool (the BLAS
    cells) and from a 2-worker LocalCluster: the same metrics, to the last bit."""
    specs = [
        parse_spec(TOY_SPEC),
        parse_spec({"experiment": "fit", "base": FIT_BASE}),  # one compile, on one worker
        parse_spec({"experiment": "fit", "base": BLAS_BASE}),
    ]
    for i, spec in enumerate(specs):
        run_sweep(spec, tmp_path / f"here{i}.db", workers=0, progress="quiet")
    run_sweep(specs[2], tmp_path / "pool2.db", workers=1, progress="quiet")
    executor = make_executor(2, "local")
    assert "LocalCluster, 2 workers" in executor.description
    pids = set()
    try:
        for i, spec in enumerate(specs):
            summary = run_sweep(spec, tmp_path / f"dask{i}.db", executor=executor, progress="quiet")
            assert summary.ok == summary.total
        pids = set(executor.client.run(lambda: __import__("os").getpid()).values())
    finally:
        executor.close()
    assert len(pids) == 2
    for i in range(len(specs)):
        here, there = _table(tmp_path / f"here{i}.db"), _table(tmp_path / f"dask{i}.db")
        assert here == there and len(here) == expand(specs[i]).__len__()
    assert _table(tmp_path / "pool2.db") == _table(tmp_path / "here2.db")
    for (_, _), (status, seed, config, metrics) in _table(tmp_path / "here0.db").items():
        assert status == "ok" and metrics == toy_value(config["x"], config["k"], seed)


def test_dask_worker_killed_mid_cell_is_retried_not_lost(tmp_path):
    marker = tmp_path / "died-once"
    spec = parse_spec(
        {
            "experiment": "runtime_toy:TOY",
            "base": {"sleep": 0.05},
            "grid": {"k": [2, 3, 4], "die_marker": [None, str(marker)]},
        }
    )
    summary = run_sweep(spec, tmp_path / "kill.db", workers=2, dask="local", progress="quiet")
    assert marker.exists(), "the dying cell never ran"
    assert summary.ok == 6 and summary.failed == 0 and summary.stored == 6
    for _, (status, seed, config, metrics) in _table(tmp_path / "kill.db").items():
        assert status == "ok" and metrics == toy_value(config["x"], config["k"], seed)


def test_process_pool_same_rows_and_dead_worker_retried(tmp_path):
    marker = tmp_path / "pool-died-once"
    spec = parse_spec({**TOY_SPEC, "grid": {**TOY_SPEC["grid"], "die_marker": [None, str(marker)]}})
    run_sweep(spec, tmp_path / "pool.db", workers=1, progress="quiet")  # 1: spawns cost seconds
    assert marker.exists()
    marker.unlink()  # the in-process run must not die: give it the marker back
    marker.write_text("present")
    run_sweep(spec, tmp_path / "here.db", workers=0, progress="quiet")
    pool, here = _table(tmp_path / "pool.db"), _table(tmp_path / "here.db")
    assert pool == here and len(pool) == 16
    assert all(v[0] == "ok" for v in pool.values())


def test_jobqueue_cluster_gets_the_given_options_and_scales_to_jobs(monkeypatch):
    calls = {}

    class FakeSLURMCluster:
        def __init__(self, **kwargs):
            calls["kwargs"] = kwargs

        def scale(self, *, jobs):
            calls["jobs"] = jobs

    fake = types.ModuleType("dask_jobqueue")
    fake.SLURMCluster = FakeSLURMCluster
    monkeypatch.setitem(sys.modules, "dask_jobqueue", fake)
    options = {"cores": 4, "memory": "8GB", "queue": None, "job_extra_directives": ["--gres=gpu:1"]}
    _jobqueue_cluster("slurm", 3, options)
    assert calls == {
        "kwargs": {"cores": 4, "memory": "8GB", "job_extra_directives": ["--gres=gpu:1"]},
        "jobs": 3,
    }
    with pytest.raises(ConfigError, match="--jobs must be an integer >= 1"):
        _jobqueue_cluster("slurm", 0, options)


def test_missing_jobqueue_and_bad_dask_values_are_clear_errors(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # import fails as if not installed
    with pytest.raises(ConfigError, match=r"needs dask-jobqueue.*featlearn\[jobqueue\]"):
        make_executor(0, "pbs", jobs=2)
    with pytest.raises(ConfigError, match="--dask must be 'local', 'slurm', 'pbs' or a scheduler"):
        make_executor(0, "kubernetes")
    with pytest.raises(ConfigError, match="--workers must be an integer >= 0; got -1"):
        make_executor(-1)


@pytest.mark.slow
@pytest.mark.parametrize("dask", [None, "local"])
def test_cell_that_always_kills_its_worker_is_stored_as_failed(tmp_path, dask):
    """After the allowed retries the cell is stored as failed (WorkerDied), the others as ok."""
    spec = parse_spec(
        {"experiment": "runtime_toy:TOY", "grid": {"k": [2, 3, 4], "die_always": [False, True]}}
    )
    summary = run_sweep(spec, tmp_path / "dead.db", workers=1, dask=dask, progress="quiet")
    assert (summary.ok, summary.failed, summary.stored) == (3, 3, 6)
    for _, (status, _, config, _) in _table(tmp_path / "dead.db").items():
        assert status == ("failed" if config["die_always"] else "ok")
    with Store(tmp_path / "dead.db", create=False) as store:
        errors = {r["error"].split(":")[0] for r in store.rows(status="failed")}
    assert errors == {"WorkerDied"}
