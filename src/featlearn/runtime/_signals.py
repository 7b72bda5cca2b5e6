"""Signals: a sweep stops cleanly on SIGINT/SIGTERM/SIGHUP, and workers never outlive it.

The parent turns SIGTERM and SIGHUP (a scheduler's or ``timeout``'s stop, a closed terminal) into
:class:`Interrupted`, like Ctrl-C's KeyboardInterrupt, so that the sweep's ``finally`` blocks stop
the workers and close the store. A signal that arrives while a cell is being written is held until
the transaction ends (:func:`critical`): the store never sees a half-finished write, and the sweep
knows which cells it kept.

Workers ignore SIGINT (Ctrl-C reaches the whole process group; the parent decides) and watch their
parent: when it is gone (SIGKILL, the OOM killer) they exit within a second instead of holding
their memory forever.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

__all__ = ["Interrupted", "critical", "handle_signals", "watch_parent"]

_STOPPING = (signal.SIGTERM, signal.SIGHUP)
_state = {"depth": 0, "pending": None}


class Interrupted(BaseException):
    """The process received ``signum`` (SIGINT, SIGTERM or SIGHUP) and is stopping."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def _raise(signum: int, frame: object) -> None:
    if _state["depth"]:
        _state["pending"] = signum  # raised when the write in progress has committed
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Within this block (main thread only), SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise) for s in (signal.SIGINT, *_STOPPING)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """Hold signals handled by :func:`handle_signals` until this block ends."""
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        pending, _state["pending"] = _state["pending"], None
    if pending is not None and not _state["depth"]:
        raise Interrupted(pending)


def watch_parent(interval: float = 0.5) -> None:
    """In a worker: ignore SIGINT, and exit when the parent process is gone (checked each
    ``interval`` seconds by a daemon thread: portable, unlike Linux's PR_SET_PDEATHSIG)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="featlearn-watch-parent", daemon=True).start()
