"""Progress of one long fit: its loops report ``(stage, done, total)`` to a callback the caller sets.

The callback lives in a context variable, so no learner or solver signature changes, and nothing
is reported unless a caller asks (the cost is one ``ContextVar.get`` per step of a long loop:
a λ of an exact solve, a conjugate-gradient product, a validation check of full training)::

    from featlearn.learners import on_progress

    with on_progress(lambda stage, done, total: print(stage, done, total)):
        learner.fit(X, y, key=key)

Within a stage, ``done`` only grows; ``total`` is None when the loop has no known length (it may
also stop early: CG converging, full training stopping on validation). Reporting never changes
a number the fit computes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

__all__ = ["ProgressCallback", "on_progress", "report"]

#: ``callback(stage, done, total)``: a named loop has finished ``done`` of ``total`` steps.
ProgressCallback = Callable[[str, int, "int | None"], None]

_CALLBACK: ContextVar[ProgressCallback | None] = ContextVar("featlearn_fit_progress", default=None)


@contextlib.contextmanager
def on_progress(callback: ProgressCallback | None) -> Iterator[None]:
    """Within this block, the long loops of fits call ``callback(stage, done, total)``.

    Parameters
    ----------
    callback : called after each step of a long loop with the stage's name (e.g.
        ``"ridge solve: lambda"``), the steps done so far (non-decreasing within a stage) and the
        stage's length (None if unknown). None turns reporting off inside the block.
    """
    token = _CALLBACK.set(callback)
    try:
        yield
    finally:
        _CALLBACK.reset(token)


def report(stage: str, done: int, total: int | None = None) -> None:
    """Tell the caller's callback, if any, that ``stage`` has done ``done`` of ``total`` steps."""
    callback = _CALLBACK.get()
    if callback is not None:
        callback(stage, done, total)
