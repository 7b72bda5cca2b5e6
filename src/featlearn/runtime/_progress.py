"""Progress of a sweep: a rich bar (done, failed, ETA) on a terminal, plain lines otherwise.

Both write to stderr, so that ``--json`` output on stdout stays machine-readable.
"""

from __future__ import annotations

import sys
import time
from typing import IO

from featlearn.runtime._cells import CellResult

__all__ = ["Progress", "make_progress"]


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts finished cells; subclasses show them. ``quiet`` shows nothing."""

    def __init__(self, total: int, name: str = "sweep"):
        self.total, self.name = total, name
        self.done = self.failed = 0
        self.start = time.perf_counter()

    def eta(self) -> float | None:
        if self.done == 0:
            return None
        return (time.perf_counter() - self.start) / self.done * (self.total - self.done)

    def update(self, result: CellResult) -> None:
        self.done += 1
        self.failed += result.status != "ok"
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
        self, total: int, name: str = "sweep", stream: IO[str] | None = None, every: float = 10.0
    ):
        super().__init__(total, name)
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
    """A rich progress bar with done/total, failed count, elapsed time and ETA."""

    def __init__(self, total: int, name: str = "sweep"):
        super().__init__(total, name)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBar

        self._bar = RichBar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._bar.add_task(name, total=total, failed=0)

    def show(self, result: CellResult) -> None:
        if result.status != "ok":
            first = (result.error or "?").splitlines()[0]
            self._bar.console.print(
                f"[red]cell {result.hash[:12]}/{result.replicate} failed:[/] {first}"
            )
        self._bar.update(self._task, advance=1, failed=self.failed)

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()


def make_progress(total: int, name: str, mode: str = "auto") -> Progress:
    """``mode``: ``auto`` (rich bar on a terminal, plain lines otherwise), ``rich``, ``plain``, ``quiet``."""
    if mode == "auto":
        mode = "rich" if sys.stderr.isatty() else "plain"
    return {"rich": RichProgress, "plain": PlainProgress, "quiet": Progress}[mode](total, name)
