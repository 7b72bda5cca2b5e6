"""Runner overhead per cell: store writes and scheduling against the cells' own compute.

A sweep of N tiny but real cells (the ``fit`` experiment: layer-wise learner, d=8, n=2000, width 32;
one shape, so JAX compiles once per process and workers stay warm) runs

- in-process (``--workers 0``), in a process pool (``--workers 2``) and on a Dask LocalCluster
  with W workers (1 and 2 by default),
- against a baseline measured in the same run: a plain Python loop calling the experiment on the
  same cells, with no runner, no store, no hashing.

Overhead of the runner = 1 - (sum of the cells' own compute seconds, as timed on the worker)
/ (W x wall time of the sweep), i.e. the share of the workers' time not spent computing cells.
Medians over ``--repeats`` runs; each run writes a fresh store. Workers are warmed (one compile)
before timing. Usage::

    .venv/bin/python benchmarks/runtime.py [--cells 1000] [--repeats 3] [--dask-workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from featlearn.experiments import EXPERIMENTS
from featlearn.runtime import (
    InProcess,
    ProcessPool,
    Store,
    expand,
    make_executor,
    parse_spec,
    run_sweep,
)

CELL = {"learner": "layerwise", "d": 8, "n": 2000, "width": 32, "n_val": 1000, "n_test": 1000}


def _spec(cells: int, name: str = "bench"):
    return parse_spec({"name": name, "experiment": "fit", "replicates": cells, "base": CELL})


def plain_loop(cells: int) -> tuple[float, float]:
    """Baseline: the same cells called directly. Returns (wall, sum of per-cell seconds)."""
    experiment = EXPERIMENTS["fit"]
    todo = expand(_spec(cells))
    start, total = time.perf_counter(), 0.0
    for cell in todo:
        t0 = time.perf_counter()
        experiment.run(experiment.validate(cell.config, source="bench"), seed=cell.seed)
        total += time.perf_counter() - t0
    return time.perf_counter() - start, total


def runner(cells: int, executor, folder: Path, tag: str) -> tuple[float, float]:
    """One timed sweep into a fresh store. Returns (wall, sum of the cells' worker-side seconds)."""
    store = folder / f"{tag}.db"
    start = time.perf_counter()
    summary = run_sweep(_spec(cells), store, executor=executor, progress="quiet")
    wall = time.perf_counter() - start
    assert summary.ok == cells, summary
    with Store(store, create=False) as db:
        compute = sum(r["seconds"] for r in db.rows())
    return wall, compute


def _row(label: str, workers: int, runs: list[tuple[float, float]], cells: int, base: float) -> str:
    walls = [w for w, _ in runs]
    fractions = [1 - c / (workers * w) for w, c in runs]
    per_cell_ms = [1000 * (workers * w - c) / cells for w, c in runs]
    wall = statistics.median(walls)
    ideal = base / workers
    return (
        f"{label:26s} {wall:8.2f} {statistics.median(c for _, c in runs):10.2f} "
        f"{100 * statistics.median(fractions):9.1f}% {statistics.median(per_cell_ms):9.2f} "
        f"{wall / ideal:9.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pool-workers", type=int, nargs="*", default=[2])
    parser.add_argument("--dask-workers", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    plain_loop(2)  # compile once here
    folder = Path(tempfile.mkdtemp(prefix="featlearn-bench-"))
    base_runs, in_process = [], []
    for i in range(args.repeats):  # interleaved, so that drifting machine load hits both alike
        base_runs.append(plain_loop(args.cells))
        in_process.append(runner(args.cells, InProcess(), folder, f"ip{i}"))
    base = statistics.median(w for w, _ in base_runs)
    results = {"in-process": (1, in_process)}
    for workers in args.pool_workers:
        executor = ProcessPool(workers)
        try:
            runner(2 * workers, executor, folder, f"pwarm{workers}")
            runs = [
                runner(args.cells, executor, folder, f"pool{workers}-{i}")
                for i in range(args.repeats)
            ]
        finally:
            executor.close()
        results[f"process pool, {workers} worker(s)"] = (workers, runs)
    for workers in args.dask_workers:
        executor = make_executor(workers, "local")
        try:
            runner(2 * workers, executor, folder, f"warm{workers}")  # compile on every worker
            runs = [
                runner(args.cells, executor, folder, f"dask{workers}-{i}")
                for i in range(args.repeats)
            ]
        finally:
            executor.close()
        results[f"LocalCluster, {workers} worker(s)"] = (workers, runs)
    print(
        f"{args.cells} cells of fit {CELL}; medians of {args.repeats} runs; cpus={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"plain loop (baseline): wall {base:.2f} s, {1000 * base / args.cells:.2f} ms per cell")
    print(
        f"{'mode':26s} {'wall s':>8s} {'compute s':>10s} {'overhead':>10s} {'ms/cell':>9s} {'vs ideal':>9s}"
    )
    for label, (workers, runs) in results.items():
        print(_row(label, workers, runs, args.cells, base))
    print("overhead = 1 - sum(cell compute) / (workers x wall); ms/cell = runner time per cell;")
    print("vs ideal = wall / (plain-loop wall / workers)")


if __name__ == "__main__":
    main()
