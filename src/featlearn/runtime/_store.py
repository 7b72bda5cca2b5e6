"""The results store: one SQLite database (WAL), one row per (cell hash, replicate).

Guarantees
----------
- A finished cell is written in one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``): a sweep killed
  at any moment leaves every cell either fully stored or absent, never half-written.
- ``PRIMARY KEY (hash, replicate)`` with ``INSERT ... ON CONFLICT DO UPDATE ... WHERE status =
  'failed'``: an ``ok`` row is never overwritten or duplicated, a ``failed`` row is replaced by its
  retry. Two sweeps writing one store at once therefore never count a cell twice.
- WAL with ``synchronous=NORMAL``: a committed cell survives the writing process being killed
  (SIGKILL); after a power loss the last few commits may be lost, never the database.
- ``busy_timeout``, and retries of the switch to WAL: concurrent writers (and any number of sweeps
  starting at once on a new store) wait for each other instead of failing.
- Readers (``create=False``) open the file read-only and change nothing on disk; see ``_open``.
- Provenance per cell: host, package versions, git revision, JAX backend and devices (where the
  cell ran), the sweep's command line (``argv``) and the sha256 of its spec text (``spec``); the
  spec text itself is stored once per sweep in ``meta`` (``Store.specs``). Stores written before
  these columns existed are read as they are (the new columns read None) and gain the columns,
  empty for their old rows, the first time a sweep writes to them.

SQLite must live on a local disk of the machine that writes it (not NFS); with Dask, workers never
touch it: results return to the one client process that writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from featlearn._errors import ConfigError, RuntimeFailure
from featlearn.runtime._cells import CellResult
from featlearn.runtime._open import (
    StoreDamaged,
    one_line,
    open_read,
    open_write,
    retry_busy,
    sqlite_error,
    tables,
)

__all__ = ["COLUMNS", "Store", "StoreDamaged", "spec_hash", "stored_columns"]

SCHEMA_VERSION = "1"
COLUMNS = (
    "hash",
    "replicate",
    "experiment",
    "sweep",
    "seed",
    "config",
    "metrics",
    "status",
    "error",
    "started",
    "finished",
    "seconds",
    "attempts",
    "host",
    "versions",
    "git",
    "written",
    "backend",
    "devices",
    "argv",
    "spec",
)
#: Columns added after the first stores were written: absent from those until a sweep adds them.
ADDED = ("backend", "devices", "argv", "spec")
#: Columns holding JSON text, decoded by ``Store.rows``.
JSON_COLUMNS = ("config", "metrics", "versions", "devices", "argv")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    hash TEXT NOT NULL,
    replicate INTEGER NOT NULL,
    experiment TEXT NOT NULL,
    sweep TEXT,
    seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    metrics TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    started REAL,
    finished REAL,
    seconds REAL,
    attempts INTEGER NOT NULL DEFAULT 1,
    host TEXT,
    versions TEXT,
    git TEXT,
    written REAL NOT NULL,
    backend TEXT,
    devices TEXT,
    argv TEXT,
    spec TEXT,
    PRIMARY KEY (hash, replicate)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_UPDATED = [c for c in COLUMNS if c not in ("hash", "replicate", "attempts")]
_PUT = (
    f"INSERT INTO cells ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (hash, replicate) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
    + ", attempts = cells.attempts + excluded.attempts WHERE cells.status = 'failed'"
)


def spec_hash(text: str) -> str:
    """sha256 (hex) of a spec's text: the ``spec`` column of its cells, and its ``meta`` key."""
    return hashlib.sha256(text.encode()).hexdigest()


def stored_columns(conn: sqlite3.Connection) -> list[str]:
    """The columns of COLUMNS that the ``cells`` table of ``conn`` has, in COLUMNS's order."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(cells)")}
    return [c for c in COLUMNS if c in present]


class Store:
    """A results store at ``path``: opened for writing when ``create``, read-only otherwise.

    Parameters
    ----------
    path : SQLite file.
    create : open for writing, creating the file and schema if missing (sweeps). With False the
        store must exist and is opened read-only (report, export, dry runs): nothing on disk
        changes, so a read-only folder or file reads fine.
    timeout : seconds to wait for another process's lock (busy timeout, and the retries of
        the switch to WAL).

    Opening runs SQLite's ``PRAGMA quick_check``; a damaged file raises one ConfigError naming
    ``featlearn store repair``. A SQLite file that is not a featlearn store is refused untouched.
    """

    def __init__(self, path: str | Path, *, create: bool = True, timeout: float = 120.0):
        self.path, self.readonly = Path(path), not create
        conn = None
        try:
            if self.readonly:
                conn = open_read(self.path, timeout)
            else:
                conn, new = open_write(self.path, timeout)
            self._conn = conn
            if not self.readonly and new:
                retry_busy(self._create_schema, timeout)
            self._check_schema()
            if not self.readonly and len(stored_columns(conn)) < len(COLUMNS):
                retry_busy(self._add_columns, timeout)
            self._quick_check()
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise sqlite_error(self.path, exc, writing=create) from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise

    def _create_schema(self) -> None:
        with self._transaction():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._conn.execute(statement)
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def _add_columns(self) -> None:
        """Add the ADDED columns to a store written before them (checked again under the write
        lock, so concurrent sweeps opening one old store add each column once)."""
        with self._transaction():
            present = stored_columns(self._conn)
            for column in [c for c in ADDED if c not in present]:
                self._conn.execute(f"ALTER TABLE cells ADD COLUMN {column} TEXT")

    def _check_schema(self) -> None:
        if not {"cells", "meta"} <= tables(self._conn):
            found = sorted(tables(self._conn))
            raise ConfigError(
                f"{self.path}: not a featlearn results store "
                f"({'an empty file' if not found else f'its tables: {found[:5]}'})"
            )
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            raise ConfigError(
                f"{self.path}: not a featlearn results store (schema {row and row[0]!r}; "
                f"expected {SCHEMA_VERSION!r})"
            )

    def _quick_check(self) -> None:
        # quick_check reads every page (seconds per GB) but not index-vs-table agreement; it
        # catches the damaged pages that would otherwise pass silently until the next write.
        problems = [r[0] for r in self._conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            raise StoreDamaged(
                f"{self.path}: the store is damaged (quick_check: {one_line(problems)}); copy out every "
                f"readable cell with: featlearn store repair {self.path} NEW.db"
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE (take the write lock now, waiting up to the busy timeout) ... COMMIT."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def put(
        self,
        result: CellResult,
        *,
        sweep: str | None = None,
        argv: list[str] | None = None,
        spec: str | None = None,
    ) -> bool:
        """Write one finished cell in one transaction; True if this call stored it.

        ``sweep`` names the sweep, ``argv`` is the command line of the process that ran it (the
        one writing the store, not a worker's), ``spec`` the hash of its spec text (``put_spec``).
        False when the cell was already stored as ``ok`` (by an earlier or a concurrent sweep).
        """
        row = asdict(result)
        argv_json = None if argv is None else json.dumps(list(argv))
        row.update(sweep=sweep, written=time.time(), argv=argv_json, spec=spec)
        return self.put_row(row)

    def put_row(self, row: dict[str, Any]) -> bool:
        """Write one row given as ``{column: stored value}`` (JSON columns as text; the ADDED
        columns may be missing: None); see put."""
        if self.readonly:
            raise ConfigError(f"{self.path}: opened read-only; cannot store a cell")
        values = [row.get(c) if c in ADDED else row[c] for c in COLUMNS]
        try:
            with self._transaction():
                cur = self._conn.execute(_PUT, values)
        except sqlite3.Error as exc:
            # The input was fine; the machine failed (disk full, file removed...): exit status 1.
            cell = f"{str(row['hash'])[:12]}/{row['replicate']}"
            raise RuntimeFailure(f"{self.path}: cannot store cell {cell} ({exc})") from None
        return cur.rowcount > 0

    def put_spec(self, name: str, text: str) -> str:
        """Store a sweep's spec text once (``meta`` key ``spec:NAME:SHA256``); return its hash."""
        digest = spec_hash(text)
        if self.readonly:
            raise ConfigError(f"{self.path}: opened read-only; cannot store a spec")
        try:
            with self._transaction():
                self._conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES (?, ?)", (f"spec:{name}:{digest}", text)
                )
        except sqlite3.Error as exc:
            raise RuntimeFailure(
                f"{self.path}: cannot store the spec of {name!r} ({exc})"
            ) from None
        return digest

    def specs(self) -> dict[tuple[str, str], str]:
        """Every stored spec text by (sweep name, sha256 of the text); empty for old stores."""
        rows = self._conn.execute("SELECT key, value FROM meta WHERE key LIKE 'spec:%'")
        return {tuple(key.removeprefix("spec:").rsplit(":", 1)): text for key, text in rows}

    def status(self, hash_: str, replicate: int) -> str | None:
        """'ok', 'failed', or None when the cell is not stored."""
        row = self._conn.execute(
            "SELECT status FROM cells WHERE hash = ? AND replicate = ?", (hash_, replicate)
        ).fetchone()
        return row[0] if row else None

    def statuses(self) -> dict[tuple[str, int], str]:
        """Status of every stored cell, by (hash, replicate)."""
        rows = self._conn.execute("SELECT hash, replicate, status FROM cells")
        return {(h, r): s for h, r, s in rows}

    def rows(
        self, *, status: str | None = None, hash_prefix: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Stored rows as dicts with every key of COLUMNS (None where an old store lacks the column),
        ordered by sweep write time; the JSON columns (``config``, ``metrics``, ``versions``,
        ``devices``, ``argv``) decoded."""
        sql, args = "SELECT * FROM cells WHERE 1", []
        if status is not None:
            sql, args = sql + " AND status = ?", [*args, status]
        if hash_prefix is not None:
            sql, args = sql + " AND hash LIKE ?", [*args, hash_prefix + "%"]
        cur = self._conn.execute(sql + " ORDER BY written, hash, replicate", args)
        names = [d[0] for d in cur.description]
        for values in cur:
            row = dict.fromkeys(COLUMNS) | dict(zip(names, values, strict=True))
            for key in JSON_COLUMNS:
                row[key] = json.loads(row[key]) if row[key] is not None else None
            yield row

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self._conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
        return self._conn.execute(
            "SELECT COUNT(*) FROM cells WHERE status = ?", (status,)
        ).fetchone()[0]

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ('ok' when the file is sound)."""
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
