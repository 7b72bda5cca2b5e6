"""Opening a results store's SQLite file: read-only or for writing, safely under concurrency.

Read-only opens (report, export, dry runs, ``store check``) never write to the file or its folder:
no journal-mode change, no schema, and no ``-wal``/``-shm`` files left behind. A store whose
``-wal`` file is absent was closed cleanly and holds everything in its main file, so it is opened
``immutable`` (SQLite then takes no locks and creates no side files; this also works in a
read-only folder). When a ``-wal`` file exists, a sweep is writing or was killed: the store is
opened ``mode=ro`` so that the WAL's committed cells are read too.

Write opens (sweeps) first classify the file without writing to it: empty (new), a featlearn
store, or anything else, which is refused untouched. Switching to WAL needs an exclusive lock and
SQLite's busy handler does not cover it, so it is done only when the file is not in WAL yet, and
retried with jittered back-off while another process holds the lock: any number of sweeps may
start at once on one new store.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from featlearn._errors import ConfigError

__all__ = [
    "StoreDamaged",
    "one_line",
    "open_read",
    "open_write",
    "retry_busy",
    "sqlite_error",
    "tables",
]

T = TypeVar("T")


class StoreDamaged(ConfigError):
    """The store's file fails SQLite's ``quick_check`` (or reading it hits a malformed page)."""


def one_line(problems: list[str]) -> str:
    """SQLite's integrity-check rows (multi-line, with a ``*** in database main ***`` banner)
    as one line."""
    text = " ".join(" ".join(problems).replace("*** in database main ***", " ").split())
    return text if len(text) < 200 else text[:197] + "..."


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def retry_busy(action: Callable[[], T], timeout: float) -> T:
    """``action()``, retried with jittered exponential back-off while SQLite reports busy/locked."""
    deadline, pause = time.monotonic() + timeout, 0.005
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, 0.5)


def sqlite_error(path: Path, exc: sqlite3.Error, *, writing: bool) -> ConfigError:
    """A one-line ConfigError saying what SQLite's error means for the store at ``path``."""
    text = str(exc)
    low = text.lower()
    if "malformed" in low or "corrupt" in low:
        return StoreDamaged(
            f"{path}: the store is damaged ({text}); copy out every readable cell with: "
            f"featlearn store repair {path} NEW.db"
        )
    if "readonly" in low or "read-only" in low:
        return ConfigError(
            f"{path}: the store is read-only ({text}); a sweep must write it "
            "(report and export only read it)"
        )
    if "not a database" in low:
        return ConfigError(f"{path}: not a featlearn results store ({text})")
    if "unable to open" in low or "disk i/o" in low:
        action = "write" if writing else "read"
        return ConfigError(f"{path}: cannot {action} the store ({text})")
    return ConfigError(f"{path}: {text}")


def _uri(path: Path, **params: str) -> str:
    # Percent-encode what URIs reserve, so any file name opens as itself.
    quoted = str(path.resolve()).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    return f"file:{quoted}?" + "&".join(f"{k}={v}" for k, v in params.items())


def open_read(path: Path, timeout: float) -> sqlite3.Connection:
    """A read-only connection that changes nothing on disk (see the module docstring)."""
    if not path.is_file():
        what = "is not a file" if path.exists() else "not found"
        raise ConfigError(f"store {what}: {path}")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{path}: cannot read the store (permission denied)")
    wal = Path(f"{path}-wal").exists()
    uri = _uri(path, mode="ro") if wal else _uri(path, mode="ro", immutable="1")
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return conn


def tables(conn: sqlite3.Connection) -> set[str]:
    """Names of the tables in the file (reading the schema only)."""
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _ensure_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL unless already there (a no-op read for existing stores)."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    # The switch answers the mode it ended in; anything but WAL means another process held the
    # file, so it is reported as busy and retried.
    if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
        raise sqlite3.OperationalError("database is locked (journal mode not switched)")


def open_write(path: Path, timeout: float) -> tuple[sqlite3.Connection, bool]:
    """A read-write connection in WAL mode; True with it when the file holds no tables yet.

    Raises ConfigError, without having written anything, when ``path`` is a SQLite file with
    tables of its own (or not SQLite at all).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the store's folder ({exc})") from None
    if path.exists() and not path.is_file():
        raise ConfigError(f"store is not a file: {path}")
    # SQLite would fall back to read-only silently and fail at the first cell; say it now.
    for target, what in ((path, "store"), (path.parent, "store's folder")):
        if target.exists() and not os.access(target, os.W_OK):
            raise ConfigError(
                f"{path}: the {what} is read-only (permission denied); a sweep must write it "
                "(report and export only read it)"
            )
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        found = retry_busy(lambda: tables(conn), timeout)
        if found and not {"cells", "meta"} <= found:
            raise ConfigError(
                f"{path}: not a featlearn results store (it holds other tables: "
                f"{sorted(found)[:5]}); refusing to add ours. Give a new file to --store"
            )
        retry_busy(lambda: _ensure_wal(conn), timeout)
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn, not found
