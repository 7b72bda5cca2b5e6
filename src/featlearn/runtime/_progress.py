"""Progress of a sweep: a rich bar (done, failed, ETA) on a terminal, plain lines otherwise.

Both write to stderr, so that ``--json`` output on stdout stays machine-readable.

The ETA weighs cells by their expected cost when the experiment declares one (``cost`` of an
``Experiment``: any unit, only ratios matter). Seconds per unit of cost are measured as a ratio
estimator over the cells finished so far, sum(seconds) / sum(cost) (worker seconds, ``ok`` cells
only), which the large cells dominate, as they dominate the remaining time; then

    ETA = max(rate * remaining cost / min(slots, cells left), rate * largest remaining cost),

with ``slots`` the cells the executor runs at once (the second term: the last large cell cannot
be shared among workers). Without costs every cell counts 1 (the elapsed time per finished cell).
"""

from __future__ import annotations

import heapq
import math
import numbers
import sys
import time
from collections.abc import Mapping
from typing import IO, Any

from featlearn._errors import ConfigError
from featlearn.runtime._cells import Cell, CellResult, resolve_experiment

__all__ = ["Progress", "expected_costs", "make_progress"]


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts finished cells and estimates the time left; subclasses show them (``quiet``: nothing).

    Parameters
    ----------
    total : cells to run.
    name : shown in front of the lines.
    costs : expected cost of each cell to run, by ``Cell.key``; None = every cell counts 1.
    slots : cells the executor runs at once (workers).
    """

    def __init__(
        self,
        total: int,
        name: str = "sweep",
        costs: Mapping[tuple[str, int], float] | None = None,
        slots: int = 1,
    ):
        self.total, self.name = total, name
        self.done = self.failed = 0
        self.start = time.perf_counter()
        self.slots = max(1, int(slots))
        self.costs = dict(costs) if costs else None
        self._left = math.fsum(self.costs.values()) if self.costs else 0.0
        self._largest = [(-c, k) for k, c in (self.costs or {}).items()]
        heapq.heapify(self._largest)
        self._seconds = self._cost_done = 0.0

    def eta(self) -> float | None:
        """Seconds until the last cell finishes (None before the first one has)."""
        if self.done == 0:
            return None
        if self.costs is None or self._cost_done <= 0:
            return (time.perf_counter() - self.start) / self.done * (self.total - self.done)
        while self._largest and self._largest[0][1] not in self.costs:
            heapq.heappop(self._largest)  # finished cells leave the heap lazily
        largest = -self._largest[0][0] if self._largest else 0.0
        rate = self._seconds / self._cost_done
        parallel = max(1, min(self.slots, self.total - self.done))
        return rate * max(max(self._left, 0.0) / parallel, largest)

    def update(self, result: CellResult) -> None:
        self.done += 1
        self.failed += result.status != "ok"
        if self.costs is not None and result.key in self.costs:
            cost = self.costs.pop(result.key)
            self._left -= cost
            if result.status == "ok":  # failed cells stop early: their seconds say nothing
                self._seconds += result.seconds
                self._cost_done += cost
        self.show(result)

    def show(self, result: CellResult) -> None:
        pass

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class PlainProgress(Progress):
    """One line per failure, and a status line at most every ``every`` seconds and at the end."""

    def __init__(
        self,
        total: int,
        name: str = "sweep",
        costs: Mapping[tuple[str, int], float] | None = None,
        slots: int = 1,
        stream: IO[str] | None = None,
        every: float = 10.0,
    ):
        super().__init__(total, name, costs, slots)
        self.stream, self.every = stream or sys.stderr, every
        self._last = -float("inf")

    def _line(self) -> str:
        eta = self.eta()
        return (
            f"[{self.name}] {self.done}/{self.total} done, {self.failed} failed, "
            f"elapsed {_clock(time.perf_counter() - self.start)}, "
            f"ETA {_clock(eta) if eta is not None else '?'}"
        )

    def show(self, result: CellResult) -> None:
        if result.status != "ok":
            first = (result.error or "").splitlines()[0] if result.error else "?"
            print(
                f"[{self.name}] cell {result.hash[:12]}/{result.replicate} failed: {first}",
                file=self.stream,
            )
        now = time.perf_counter()
        if now - self._last >= self.every or self.done == self.total:
            self._last = now
            print(self._line(), file=self.stream, flush=True)


class RichProgress(Progress):
    """A rich progress bar with done/total, failed count, elapsed time and ETA (``eta()``)."""

    def __init__(
        self,
        total: int,
        name: str = "sweep",
        costs: Mapping[tuple[str, int], float] | None = None,
        slots: int = 1,
    ):
        super().__init__(total, name, costs, slots)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichBar

        self._bar = RichBar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=Console(stderr=True),
        )
        self._task = self._bar.add_task(name, total=total, failed=0, eta="?")

    def show(self, result: CellResult) -> None:
        if result.status != "ok":
            first = (result.error or "?").splitlines()[0]
            self._bar.console.print(
                f"[red]cell {result.hash[:12]}/{result.replicate} failed:[/] {first}"
            )
        eta = self.eta()
        eta_text = _clock(eta) if eta is not None else "?"
        self._bar.update(self._task, advance=1, failed=self.failed, eta=eta_text)

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()


def make_progress(
    total: int,
    name: str,
    mode: str = "auto",
    *,
    costs: Mapping[tuple[str, int], float] | None = None,
    slots: int = 1,
) -> Progress:
    """``mode``: ``auto`` (rich bar on a terminal, plain lines otherwise), ``rich``, ``plain``,
    ``quiet``; ``costs`` and ``slots`` weigh the ETA (see :class:`Progress`)."""
    if mode == "auto":
        mode = "rich" if sys.stderr.isatty() else "plain"
    kind = {"rich": RichProgress, "plain": PlainProgress, "quiet": Progress}[mode]
    return kind(total, name, costs, slots)


def expected_costs(
    cells: list[Cell], registry: Mapping[str, Any] | None = None
) -> dict[tuple[str, int], float] | None:
    """Each cell's expected cost by ``Cell.key``, from its experiment's ``cost`` (computed once
    per config hash: replicates cost the same); None when the experiment declares none.

    A cost that is not a finite number > 0 is a ConfigError naming the cell."""
    if not cells:
        return None
    experiment = resolve_experiment(cells[0].experiment, registry)
    cost = getattr(experiment, "cost", None)
    if cost is None:
        return None
    by_hash: dict[str, float] = {}
    for cell in cells:
        if cell.hash not in by_hash:
            value = cost(dict(cell.config))
            number = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and value > 0):
                raise ConfigError(
                    f"experiment {cell.experiment!r}: cost must be a finite number > 0; "
                    f"got {value!r} for cell {cell.short} ({cell.label or 'no label'})"
                )
            by_hash[cell.hash] = float(value)
    return {cell.key: by_hash[cell.hash] for cell in cells}
