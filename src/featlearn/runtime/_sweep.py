"""Run a sweep: expand the spec, skip what is stored, run the rest, write each result as it returns."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from featlearn._errors import ConfigError, FeatlearnError
from featlearn.runtime._cells import Cell, execute_cell
from featlearn.runtime._executors import make_executor
from featlearn.runtime._progress import expected_costs, make_progress
from featlearn.runtime._signals import Interrupted, critical
from featlearn.runtime._spec import MAX_CELLS, Spec, expand, iter_cells
from featlearn.runtime._store import Store

__all__ = [
    "SweepInterrupted",
    "SweepSummary",
    "iter_plan",
    "plan_sweep",
    "rerun_cell",
    "run_sweep",
    "select_cells",
]


@dataclass
class SweepSummary:
    """Counts of one ``run_sweep`` call (``--json`` prints ``to_dict()``).

    total : cells of the spec (after ``only``); skipped : already stored when the sweep started
    (``ok``, or ``failed`` without ``retry_failed``); failed_earlier : those of them stored as
    failed; ran : cells executed here; ok / failed : their outcomes; stored : rows this sweep wrote;
    duplicates : results a concurrent sweep stored first.
    """

    name: str
    store: str
    executor: str
    total: int = 0
    skipped: int = 0
    failed_earlier: int = 0
    ran: int = 0
    ok: int = 0
    failed: int = 0
    stored: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    failed_cells: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_cells(cells: list[Cell], only: str | None) -> list[Cell]:
    """The cells whose hash starts with ``only`` (a prefix of at least 4 hex digits)."""
    if only is None:
        return cells
    prefix = only.strip().lower()
    if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
        raise ConfigError(f"--only must be at least 4 hex digits of a cell hash; got {only!r}")
    chosen = [c for c in cells if c.hash.startswith(prefix)]
    if not chosen:
        raise ConfigError(f"--only {only}: no cell of this spec has a hash starting with it")
    if len({c.hash for c in chosen}) > 1:
        raise ConfigError(
            f"--only {only}: matches {len({c.hash for c in chosen})} cells; give more digits"
        )
    return chosen


def _pending(cells: list[Cell], store: Store, retry_failed: bool) -> Iterator[Cell]:
    """Cells still to run, checked against the store again just before each is handed out,
    so that a sweep running concurrently on the same store is not repeated needlessly."""
    for cell in cells:
        status = store.status(*cell.key)
        if status == "ok" or (status == "failed" and not retry_failed):
            continue
        yield cell


def iter_plan(
    spec: Spec,
    store: str | Path | None = None,
    *,
    only: str | None = None,
    registry: Mapping[str, Any] | None = None,
    max_cells: int | None = MAX_CELLS,
) -> Iterator[tuple[Cell, str | None]]:
    """Each cell of ``spec`` with its status in ``store`` (``ok``, ``failed`` or None = to run),
    streamed: memory does not grow with the number of cells. The store is opened read-only."""
    statuses: dict[tuple[str, int], str] = {}
    if store is not None and Path(store).exists():
        with Store(store, create=False) as db:
            statuses = db.statuses()
    cells = iter_cells(spec, registry, max_cells=max_cells)
    if only is not None:
        prefix = only.strip().lower()
        cells = iter(select_cells([c for c in cells if c.hash.startswith(prefix)], only))
    for cell in cells:
        yield cell, statuses.get(cell.key)


def plan_sweep(
    spec: Spec,
    store: str | Path | None = None,
    *,
    only: str | None = None,
    registry: Mapping[str, Any] | None = None,
    max_cells: int | None = MAX_CELLS,
) -> list[tuple[Cell, str | None]]:
    """Every cell of ``spec`` with its status in ``store`` (see :func:`iter_plan`), as a list."""
    return list(iter_plan(spec, store, only=only, registry=registry, max_cells=max_cells))


class SweepInterrupted(FeatlearnError):
    """A sweep stopped by a signal; ``summary`` counts what it ran and stored before stopping."""

    def __init__(self, signum: int, summary: SweepSummary):
        self.signum, self.summary = signum, summary
        name = signal.Signals(signum).name
        super().__init__(
            f"interrupted by {name}: this sweep stored {summary.stored} cells "
            f"({summary.skipped + summary.stored} of {summary.total} now in {summary.store}); "
            "run the same command again to resume"
        )


def run_sweep(
    spec: Spec,
    store: str | Path,
    *,
    workers: int = 0,
    dask: str | None = None,
    jobs: int = 1,
    cluster_options: Mapping[str, Any] | None = None,
    executor: Any = None,
    retry_failed: bool = False,
    only: str | None = None,
    progress: str = "auto",
    shuffle: bool = True,
    largest_first: bool = False,
    registry: Mapping[str, Any] | None = None,
    max_cells: int | None = MAX_CELLS,
    argv: list[str] | None = None,
) -> SweepSummary:
    """Run every cell of ``spec`` not yet in ``store``; write each result in its own transaction.

    Each stored cell records ``argv`` (default: this process's ``sys.argv``, the command that ran
    the sweep) and the hash of ``spec.text``, which is stored once in the store's ``meta`` table.

    ``executor`` (an object with ``map_unordered``; left open for the caller to close) overrides
    ``workers``/``dask``; see :func:`featlearn.runtime.make_executor` for those. ``progress``: ``auto``, ``rich``,
    ``plain`` or ``quiet``. ``max_cells`` bounds the number of cells (a ConfigError beyond it).

    Interrupting (Ctrl-C, or SIGTERM/SIGHUP inside :func:`featlearn.runtime.handle_signals`)
    stops the workers and raises :class:`SweepInterrupted`, whose summary counts the cells kept;
    every cell already written stays, none is half-written.

    With ``shuffle`` (default) cells are handed out in random order: the ETA is then unbiased by
    cheap and costly cells clustering in the grid, a partial store covers the whole grid, and two
    sweeps started on one store mostly run different cells (each skips what the other stored).
    Results do not depend on the order: a cell's seed comes from its hash.

    With ``largest_first``, cells run in decreasing expected cost (the experiment's ``cost``;
    ties in the shuffled order): the long cells start first, so N workers finish together, and
    the ETA has measured the large cells early. The ETA weighs cells by that cost (see
    :mod:`featlearn.runtime._progress`); without a cost model, cells count 1 and the order stays.
    """
    start = time.perf_counter()
    cells = select_cells(expand(spec, registry, max_cells=max_cells), only)
    with Store(store) as db:
        statuses = db.statuses()
        todo = [
            c
            for c in cells
            if statuses.get(c.key) is None or (retry_failed and statuses[c.key] == "failed")
        ]
        if shuffle:
            random.Random(os.urandom(16)).shuffle(todo)
        costs = expected_costs(todo, registry)
        if largest_first and costs:
            todo.sort(key=lambda c: -costs[c.key])
        owned = executor is None
        executor = executor or make_executor(
            workers, dask, jobs=jobs, cluster_options=cluster_options, registry=registry
        )
        summary = SweepSummary(spec.name, str(store), executor.description, len(cells))
        summary.skipped = len(cells) - len(todo)
        summary.failed_earlier = sum(statuses.get(c.key) == "failed" for c in cells) - sum(
            statuses.get(c.key) == "failed" for c in todo
        )
        provenance = {
            "sweep": spec.name,
            "argv": list(sys.argv if argv is None else argv),
            "spec": db.put_spec(spec.name, spec.text) if todo and spec.text else None,
        }
        try:
            _drive(executor, todo, db, provenance, summary, retry_failed, progress, costs)
        except (Interrupted, KeyboardInterrupt) as exc:
            summary.seconds = time.perf_counter() - start
            signum = getattr(exc, "signum", signal.SIGINT)
            raise SweepInterrupted(signum, summary) from None
        finally:
            if owned:
                executor.close(terminate=sys.exc_info()[0] is not None)
    summary.seconds = time.perf_counter() - start
    return summary


def _drive(
    executor: Any,
    todo: list[Cell],
    db: Store,
    provenance: dict[str, Any],
    summary: SweepSummary,
    retry_failed: bool,
    progress: str,
    costs: dict[tuple[str, int], float] | None = None,
) -> None:
    """Hand ``todo`` to ``executor`` and store each result as it returns, with ``provenance``
    (sweep name, argv, spec hash: ``Store.put``'s keywords). Signals are held while a cell is
    written, so the count of stored cells is exact when the sweep is interrupted."""
    slots = getattr(executor, "slots", 1)
    with make_progress(len(todo), provenance["sweep"], progress, costs=costs, slots=slots) as bar:
        for result in executor.map_unordered(_pending(todo, db, retry_failed)):
            with critical():
                written = db.put(result, **provenance)
                summary.ran += 1
                summary.stored += written
                summary.duplicates += not written
            if result.status == "ok":
                summary.ok += 1
            else:
                summary.failed += 1
                first = (result.error or "?").splitlines()[0]
                summary.failed_cells.append(
                    {"hash": result.hash, "replicate": result.replicate, "error": first}
                )
            bar.update(result)


def rerun_cell(
    store: str | Path,
    hash_prefix: str,
    replicate: int = 0,
    *,
    registry: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Re-run one stored cell here, from its stored config and seed, and return its new record.

    Nothing is written. Comparing the result with the stored ``metrics`` checks reproducibility.
    """
    with Store(store, create=False) as db:
        rows = [r for r in db.rows(hash_prefix=hash_prefix.lower()) if r["replicate"] == replicate]
    if len(rows) != 1:
        found = "no stored cell" if not rows else f"{len(rows)} stored cells"
        raise ConfigError(f"cell {hash_prefix}/{replicate}: {found} in {store} match")
    row = rows[0]
    cell = Cell(row["experiment"], row["config"], replicate, row["hash"], row["seed"])
    result = execute_cell(cell, registry=registry)
    if result.status != "ok":
        raise ConfigError(f"cell {cell.short} failed again: {(result.error or '').splitlines()[0]}")
    return json.loads(result.metrics or "{}")
