"""Executors: where cells run. All return results to the calling process, which alone writes the store.

- :class:`InProcess` (``--workers 0``): cells run one after another in this process.
- :class:`ProcessPool` (``--workers N``): N long-lived spawned processes; each imports JAX once, so
  compiled functions stay warm across cells, and runs one BLAS thread (like Dask's workers). A
  worker that dies takes the pool down, failing every cell in flight; those are re-run one at a
  time, alone, on a fresh pool, and only a cell whose worker dies while it runs alone is charged
  (after ``max_attempts`` such deaths it is stored as failed): innocent cells are never blamed.
- :class:`DaskExecutor` (``--dask ADDRESS|local|slurm|pbs``): Dask distributed. A worker that dies
  mid-cell is handled by Dask's scheduler, which reruns the task elsewhere (up to
  ``distributed.scheduler.allowed-failures`` times; then the cell is stored as failed).

Each executor's ``map_unordered(cells)`` pulls cells lazily from an iterator, keeps a bounded number
in flight, and yields :class:`CellResult` objects as they finish.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from featlearn._errors import ConfigError
from featlearn.runtime._cells import (
    Cell,
    CellResult,
    execute_cell,
    execute_cells,
    lost_cell,
    warm_worker,
)

__all__ = ["DaskExecutor", "InProcess", "ProcessPool", "make_executor"]


class InProcess:
    """Run cells here, one at a time (``registry`` lets tests and notebooks use their own experiments)."""

    description = "in-process"
    slots = 1  # cells running at once (the sweep's ETA divides the remaining work by it)

    def __init__(self, registry: Mapping[str, Any] | None = None):
        self.registry = registry

    def map_unordered(self, cells: Iterable[Cell]) -> Iterator[CellResult]:
        for cell in cells:
            yield execute_cell(cell, registry=self.registry)

    def close(self, *, terminate: bool = False) -> None:
        pass


class ProcessPool:
    """``workers`` long-lived spawned worker processes (concurrent.futures)."""

    def __init__(self, workers: int, *, max_attempts: int = 3):
        if workers < 1:
            raise ConfigError(f"workers must be an integer >= 1 for a process pool; got {workers}")
        self.workers, self.max_attempts = workers, max_attempts
        self.slots = workers
        self.description = f"process pool ({workers} workers)"
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # One BLAS thread per worker, as Dask's workers do: N workers x all-core BLAS threads
        # oversubscribe the CPUs (3-4x slower cells measured on 2 cores). Spawned children read
        # these at start-up; values the user has set are kept.
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")
        ctx = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=warm_worker)

    def map_unordered(self, cells: Iterable[Cell]) -> Iterator[CellResult]:
        source, suspects = iter(cells), deque()
        pending: dict[Future, tuple[Cell, int]] = {}  # future -> (cell, deaths charged to it)
        while True:
            self._fill(source, suspects, pending)
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            if not any(_broken(f) for f in done):
                for future in done:
                    pending.pop(future)
                    yield future.result()
                continue
            wait(pending)  # a broken pool fails every future still in flight
            yield from self._triage(pending, suspects)
            pending.clear()
            self._restart()

    def _fill(
        self, source: Iterator[Cell], suspects: deque, pending: dict[Future, tuple[Cell, int]]
    ) -> None:
        """Submit work: suspects of a worker death one at a time and alone, else new cells up to
        two per worker (one running, one queued)."""
        while (suspects and not pending) or (not suspects and len(pending) < 2 * self.workers):
            item = suspects.popleft() if suspects else next(((c, 0) for c in source), None)
            if item is None:
                return
            try:
                pending[self._pool.submit(execute_cell, item[0], item[1] + 1)] = item
            except BrokenProcessPool:
                suspects.appendleft(item)
                self._restart()

    def _triage(
        self, pending: dict[Future, tuple[Cell, int]], suspects: deque
    ) -> Iterator[CellResult]:
        """After the pool broke: yield what finished; charge the death to a cell only when it
        was the one cell lost (it ran alone, or all others had finished); the others become
        suspects, re-run one at a time without being charged."""
        broken = [item for future, item in pending.items() if _broken(future)]
        for future in pending:
            if not _broken(future):
                yield future.result()
        if len(broken) != 1:
            suspects.extend(broken)
            return
        cell, deaths = broken[0]
        deaths += 1
        if deaths >= self.max_attempts:
            why = f"its worker process died each of the {deaths} times it ran alone"
            yield lost_cell(cell, deaths, why)
        else:
            suspects.appendleft((cell, deaths))

    def _restart(self) -> None:
        logging.getLogger("featlearn.runtime").warning("a pool worker died; restarting the pool")
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self, *, terminate: bool = False) -> None:
        """Shut the pool down; with ``terminate``, stop the cells now running (SIGTERM) instead
        of waiting for them (an interrupted sweep)."""
        if terminate:
            # concurrent.futures has no public way to stop running tasks; its worker processes
            # are in ``_processes`` (a stable attribute since Python 3.2).
            for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                process.terminate()
        self._pool.shutdown(wait=not terminate, cancel_futures=True)


def _broken(future: Future) -> bool:
    return future.cancelled() or isinstance(future.exception(), BrokenProcessPool)


class DaskExecutor:
    """Cells as Dask tasks on ``client``; closes ``cluster`` (if it made one) on :meth:`close`.

    Tiny cells are batched: the first tasks hold one cell each; later tasks hold as many cells as
    fit in about ``task_seconds`` (median cell time so far; at most ``max_batch``), so that the
    scheduler's per-task cost (a few ms) stays small against the compute. Results are still
    yielded, and stored, one cell at a time. A batch whose worker died more often than Dask allows
    is split into one task per cell, so that only the cell that kills its worker is stored failed.
    """

    def __init__(
        self,
        client: Any,
        cluster: Any = None,
        *,
        window: int | None = None,
        label: str = "",
        task_seconds: float = 0.25,
        max_batch: int = 32,
    ):
        self.client, self.cluster = client, cluster
        self.description = f"dask ({label or client.scheduler.address})"
        self._window, self.task_seconds, self.max_batch = window, task_seconds, max_batch

    @property
    def slots(self) -> int:
        """Cells running at once: the cluster's worker threads now (at least 1)."""
        return max(1, self._threads())

    def _threads(self) -> int:
        workers = self.client.scheduler_info().get("workers", {})
        return sum(w.get("nthreads", 1) for w in workers.values())

    def _batch(self, seconds: deque) -> int:
        if len(seconds) < 4:
            return 1
        median = sorted(seconds)[len(seconds) // 2]
        return max(1, min(self.max_batch, int(self.task_seconds / max(median, 1e-6))))

    def map_unordered(self, cells: Iterable[Cell]) -> Iterator[CellResult]:
        from distributed import as_completed

        window = self._window or max(16, 4 * self._threads())
        source, singles = iter(cells), deque()
        pending: dict[Any, list[Cell]] = {}
        running = as_completed()
        seconds: deque = deque(maxlen=64)

        def submit(size: int) -> None:
            # Cells of a batch whose worker died are resubmitted one per task, so that only the
            # cell that kills its worker exhausts Dask's allowed failures.
            group = [singles.popleft()] if singles else list(itertools.islice(source, size))
            if group:
                first = group[0]
                key = (
                    f"cells-{first.hash[:12]}-{first.replicate}-{len(group)}-{uuid.uuid4().hex[:8]}"
                )
                future = self.client.submit(execute_cells, group, key=key, pure=False)
                pending[future] = group
                running.add(future)

        for _ in range(window):
            submit(1)
        for future in running:
            group = pending.pop(future)
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker and friends
                results = []
                if len(group) > 1:
                    singles.extend(group)
                else:
                    results = [lost_cell(group[0], 1, f"{type(exc).__name__}: {exc}")]
            future.release()
            seconds.extend(r.seconds for r in results if r.status == "ok")
            for _ in range(1 + (not results) * len(group)):
                submit(self._batch(seconds))
            yield from results

    def close(self, *, terminate: bool = False) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


_JOBQUEUE = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}


def _jobqueue_cluster(kind: str, jobs: int, options: Mapping[str, Any]) -> Any:
    try:
        import dask_jobqueue
    except ImportError:
        raise ConfigError(
            f"--dask {kind} needs dask-jobqueue, which is not installed; "
            "install it with: pip install 'featlearn[jobqueue]'"
        ) from None
    if jobs < 1:
        raise ConfigError(f"--jobs must be an integer >= 1 for --dask {kind}; got {jobs}")
    kwargs = {k: v for k, v in options.items() if v not in (None, [], ())}
    try:
        cluster = getattr(dask_jobqueue, _JOBQUEUE[kind])(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"--dask {kind}: {exc}") from None
    cluster.scale(jobs=jobs)
    return cluster


def make_executor(
    workers: int = 0,
    dask: str | None = None,
    *,
    jobs: int = 1,
    cluster_options: Mapping[str, Any] | None = None,
    registry: Mapping[str, Any] | None = None,
) -> InProcess | ProcessPool | DaskExecutor:
    """The executor for the CLI's ``--workers``/``--dask`` flags.

    Parameters
    ----------
    workers : 0 = in-process; N >= 1 = a local pool of N processes, or N LocalCluster workers with
        ``dask="local"`` (default there: the number of CPUs).
    dask : None, ``"local"``, a scheduler address (``tcp://HOST:PORT``), ``"slurm"`` or ``"pbs"``.
    jobs : batch jobs to request (slurm/pbs).
    cluster_options : keyword arguments of dask-jobqueue's cluster (cores, processes, memory,
        walltime, queue, account, job_extra_directives, ...); only the given ones are passed, so
        dask-jobqueue's own configuration supplies the rest.
    registry : experiments for the in-process executor only (workers import featlearn's).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"--workers must be an integer >= 0; got {workers!r}")
    if dask is None:
        return InProcess(registry) if workers == 0 else ProcessPool(workers)
    from distributed import Client, LocalCluster

    if dask == "local":
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        # Its worker processes watch this one themselves (distributed's monitor_parent thread).
        return DaskExecutor(Client(cluster), cluster, label=f"LocalCluster, {n} workers")
    if dask in _JOBQUEUE:
        cluster = _jobqueue_cluster(dask, jobs, cluster_options or {})
        per_job = int((cluster_options or {}).get("processes") or 1)
        return DaskExecutor(
            Client(cluster), cluster, window=max(16, 4 * jobs * per_job), label=dask
        )
    if "://" not in dask:
        raise ConfigError(
            f"--dask must be 'local', 'slurm', 'pbs' or a scheduler address like "
            f"tcp://HOST:8786; got {dask!r}"
        )
    try:
        client = Client(dask, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"--dask {dask}: cannot reach the scheduler ({exc})") from None
    return DaskExecutor(client, label=dask)
