"""Helpers shared by the command modules: option parsing, output, and write errors."""

from __future__ import annotations

import contextlib
import errno
import json
from collections.abc import Iterator
from typing import Any

import typer

from featlearn._errors import ConfigError, RuntimeFailure


def parse_option(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--option must look like KEY=VALUE; got {item!r}")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


# Set by a command that leaves nothing to finalise (no store, no worker, no open file): then
# ``featlearn.cli.main``, run as the program, ends the process at once after flushing its output,
# skipping Python's and XLA's teardown (0.6 s after a fit, measured).
NOTHING_TO_FINALISE = {"set": False}


def emit(payload: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        from featlearn.runtime import jsonable

        typer.echo(json.dumps(jsonable(payload)))
    else:
        for line in lines:
            typer.echo(line)


# errnos that say the machine failed, not the path given: exit status 1, not 2
_MACHINE = {errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EDQUOT, errno.ENOMEM}


@contextlib.contextmanager
def writing(target: str) -> Iterator[None]:
    """Turn an OSError while writing ``target`` into one line: a bad output path (missing,
    read-only, not a folder) is bad input (exit 2); a full disk is a runtime failure (exit 1)."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or target
        why = exc.strerror or str(exc)
        if exc.errno in _MACHINE:
            raise RuntimeFailure(f"cannot write {where}: {why}") from None
        raise ConfigError(f"cannot write {where}: {why}") from None
