"""Checking a results store, and copying every readable cell of a damaged one into a new store.

Recovery reads the damaged file read-only, one row at a time by rowid (``NOT INDEXED``: the
table's own b-tree, so a damaged index costs nothing). A damaged page then loses only the rows it
held; every other row is copied, checked (JSON columns parse, status is ``ok``/``failed``) and
written to the new store with the same transaction guarantees as a sweep's.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from featlearn._errors import ConfigError
from featlearn.runtime._open import StoreDamaged, open_read, sqlite_error, tables
from featlearn.runtime._store import Store, stored_columns

__all__ = ["RepairSummary", "check_store", "repair_store"]

# Probing stops after this many consecutive unreadable or absent rowids past the last known one.
_GAP = 4096


def check_store(path: str | Path) -> dict[str, Any]:
    """Full ``PRAGMA integrity_check`` of the store (read-only), with its cell counts.

    Returns ``{"store", "ok": bool, "problems": [...], "cells", "ok_cells", "failed_cells"}``;
    counts are None when the file is damaged.
    """
    path = Path(path)
    conn = open_read(path, timeout=30.0)
    counts = None
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
        sound = problems == ["ok"]
        if sound and not {"cells", "meta"} <= tables(conn):
            raise ConfigError(f"{path}: not a featlearn results store")
        counts = dict(conn.execute("SELECT status, COUNT(*) FROM cells GROUP BY status"))
    except sqlite3.DatabaseError as exc:
        error = sqlite_error(path, exc, writing=False)
        if not isinstance(error, StoreDamaged):
            raise error from None
        problems, sound = [str(exc)], False
    finally:
        conn.close()
    return {
        "store": str(path),
        "ok": sound,
        "problems": [] if sound else problems,
        "cells": None if counts is None else sum(counts.values()),
        "ok_cells": None if counts is None else counts.get("ok", 0),
        "failed_cells": None if counts is None else counts.get("failed", 0),
    }


@dataclass
class RepairSummary:
    """What ``repair_store`` copied: ``recovered`` rows, ``unreadable`` rowids (lost rows),
    ``invalid`` rows read but not storable (bad JSON or status), and the new store's path."""

    source: str
    out: str
    recovered: int = 0
    unreadable: list[int] = field(default_factory=list)
    invalid: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "out": self.out,
            "recovered": self.recovered,
            "unreadable": len(self.unreadable),
            "invalid": self.invalid,
        }


def _last_rowid(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("SELECT max(rowid) FROM cells NOT INDEXED").fetchone()[0] or 0)
    except sqlite3.DatabaseError:
        return 0  # the right edge of the table is damaged: probing finds the end


def _read(conn: sqlite3.Connection, rowid: int, columns: list[str]) -> tuple | None | bool:
    """The row's values, None when there is no such rowid, False when it cannot be read."""
    sql = f"SELECT {', '.join(columns)} FROM cells NOT INDEXED WHERE rowid = ?"
    try:
        return conn.execute(sql, (rowid,)).fetchone()
    except sqlite3.DatabaseError:
        return False


def _valid(row: dict[str, Any]) -> bool:
    try:
        for key in ("config", "metrics", "versions", "devices", "argv"):
            if row.get(key) is not None:
                json.loads(row[key])
    except (TypeError, ValueError):
        return False
    return row["status"] in ("ok", "failed") and isinstance(row["hash"], str)


def repair_store(source: str | Path, out: str | Path) -> RepairSummary:
    """Copy every readable, well-formed cell of ``source`` into the new store ``out``.

    ``source`` is only read. ``out`` must not exist. Rows are probed by rowid from 1 up to the
    largest rowid (or, when that cannot be read, until ``_GAP`` rowids past the last readable one).
    """
    source, out = Path(source), Path(out)
    if out.exists():
        raise ConfigError(f"repair: the output store must be a new file; {out} exists")
    try:
        conn = open_read(source, timeout=30.0)
        last = _last_rowid(conn)
        columns = stored_columns(conn)  # a store written before the provenance columns lacks them
    except sqlite3.Error as exc:
        raise sqlite_error(source, exc, writing=False) from None
    summary = RepairSummary(str(source), str(out))
    try:
        with Store(out) as new:
            rowid, good = 0, 0
            while rowid < last or rowid - good < _GAP:
                rowid += 1
                values = _read(conn, rowid, columns)
                if values is None:
                    continue
                if values is False:
                    summary.unreadable.append(rowid)
                    continue
                good = rowid
                row = dict(zip(columns, values, strict=True))
                if not _valid(row):
                    summary.invalid += 1
                    continue
                summary.recovered += new.put_row(row)
    finally:
        conn.close()
    # Rowids probed past the last readable one (when the largest is unknown) are not counted.
    summary.unreadable = [r for r in summary.unreadable if r <= max(last, good)]
    return summary
