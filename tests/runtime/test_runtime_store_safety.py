"""Store safety: many sweeps starting at once, read-only commands that write nothing, foreign
files refused untouched, damaged files found on open and repaired cell by cell."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
from runtime_helpers import cli, one_line, run_main, snapshot
from runtime_light import light_value

from featlearn import ConfigError
from featlearn.runtime import Store, StoreDamaged, check_store, parse_spec, repair_store, run_sweep

PAGE = 4096  # SQLite's default page size, which the stores here use


def _toy_store(db: Path, k: list[int], replicates: int = 1) -> dict[tuple[str, int], dict]:
    spec = {"experiment": "runtime_toy:TOY", "replicates": replicates, "grid": {"k": k}}
    run_sweep(parse_spec(spec), db, progress="quiet", shuffle=False)
    with Store(db, create=False) as store:
        return {(r["hash"], r["replicate"]): r for r in store.rows(status=None)}


@pytest.mark.parametrize("n", [6, 20])
def test_many_sweeps_started_at_once_on_a_new_store(tmp_path, n):
    """n CLI sweeps started together on a store that does not exist yet (20: the issue's case;
    7 s on 2 cores now that planning a sweep imports no JAX)."""
    spec, db = tmp_path / "light.toml", tmp_path / "new" / "race.db"
    spec.write_text(
        'experiment = "runtime_light:LIGHT"\nreplicates = 2\n[grid]\nk = [2, 3, 4, 5]\n'
    )
    procs = [
        cli("sweep", str(spec), "--store", str(db), "--json", "--allow-import") for _ in range(n)
    ]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    assert sum(json.loads(out)["stored"] for out, _ in results) == 8  # each cell stored once
    with sqlite3.connect(db) as conn:
        keys = conn.execute("SELECT hash, replicate FROM cells").fetchall()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert len(keys) == len(set(keys)) == 8
    with Store(db, create=False) as store:
        for row in store.rows():
            assert row["metrics"] == light_value(row["config"]["k"], row["seed"])


def test_read_only_commands_leave_store_folder_and_foreign_files_byte_identical(capsys, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db, foreign, empty = folder / "s.db", folder / "foreign.db", folder / "empty.db"
    _toy_store(db, [2, 3])
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    empty.touch()
    spec = tmp_path / "toy.toml"
    spec.write_text('experiment = "runtime_toy:TOY"\n[grid]\nk = [2, 3]\n')
    os.chmod(db, 0o444)
    os.chmod(folder, 0o555)
    before = snapshot(folder)
    try:
        out = tmp_path / "out"
        code, _, err = run_main(capsys, "report", str(db), "-o", str(out / "rep"))
        assert code == 0, err
        code, _, err = run_main(capsys, "export", str(db), "-o", str(tmp_path / "x.csv"))
        assert code == 0, err
        dry = ("sweep", str(spec), "--allow-import", "--dry-run", "--store")
        code, text, err = run_main(capsys, *dry, str(db))
        assert code == 0 and "2 cells, 0 to run" in text, err
        for other in (foreign, empty):
            for argv in (("report", str(other)), ("export", str(other)), (*dry, str(other))):
                code, _, err = run_main(capsys, *argv)
                assert code == 2 and "not a featlearn results store" in one_line(err)
        code, _, err = run_main(
            capsys, "sweep", str(spec), "--allow-import", "--store", str(foreign)
        )
        assert code == 2 and "refusing to add ours" in one_line(err)
        after = snapshot(folder)
    finally:
        os.chmod(folder, 0o755)
        os.chmod(db, 0o644)
    assert after == before and sorted(p.name for p in folder.iterdir()) == sorted(before)
    assert empty.stat().st_size == 0


def _pages(db: Path, pattern: bytes) -> list[int]:
    """Page numbers (0-based) whose bytes match the regular expression ``pattern``."""
    data = db.read_bytes()
    pages = (data[i * PAGE : (i + 1) * PAGE] for i in range(len(data) // PAGE))
    return [i for i, page in enumerate(pages) if re.search(pattern, page)]


def _damage(db: Path, page: int) -> set[str]:
    """Overwrite one page with garbage; return the cell hashes that page held."""
    data = bytearray(db.read_bytes())
    held = set(re.findall(rb"[0-9a-f]{64}", bytes(data[page * PAGE : (page + 1) * PAGE])))
    data[page * PAGE : (page + 1) * PAGE] = bytes(range(256)) * (PAGE // 256)
    db.write_bytes(bytes(data))
    return {h.decode() for h in held}


@pytest.mark.parametrize("where", ["table", "index"])
def test_damaged_store_is_one_line_everywhere_and_repair_recovers_the_rest(capsys, tmp_path, where):
    db = tmp_path / "d.db"
    original = _toy_store(db, list(range(30, 150)))  # ~1.3 kB per row: about 3 rows per page
    table_pages = _pages(db, b'"vector"')  # leaf pages of the cells table: rows with metrics
    with_hashes = _pages(db, rb"[0-9a-f]{64}")
    index_pages = [p for p in with_hashes if p not in table_pages and p != 0]  # (hash, replicate)
    pages = table_pages if where == "table" else index_pages
    assert len(pages) >= 3
    lost = _damage(db, pages[len(pages) // 2])
    assert lost, "the damaged page held no cell"
    with pytest.raises(StoreDamaged, match="featlearn store repair"):
        Store(db, create=False)
    spec = tmp_path / "toy.toml"
    spec.write_text('experiment = "runtime_toy:TOY"\n[grid]\nk = [2]\n')
    sweep = ("sweep", str(spec), "--allow-import", "--store", str(db))
    before = db.read_bytes()
    for argv in (("report", str(db)), ("export", str(db)), sweep, (*sweep, "--dry-run")):
        code, _, err = run_main(capsys, *argv)
        assert code == 2 and "damaged" in one_line(err) and "store repair" in err
    code, _, err = run_main(capsys, "store", "check", str(db))
    assert code == 2 and "damaged" in one_line(err)
    code, out, err = run_main(
        capsys, "store", "repair", str(db), str(tmp_path / "new.db"), "--json"
    )
    assert code == 0, err
    assert db.read_bytes() == before  # repair only reads the damaged file
    with Store(tmp_path / "new.db", create=False) as store:
        recovered = {(r["hash"], r["replicate"]): r for r in store.rows(status=None)}
    expected = {k: v for k, v in original.items() if where == "index" or k[0] not in lost}
    assert set(recovered) == set(expected) and json.loads(out)["recovered"] == len(expected)
    for key, row in recovered.items():  # every column as stored, except the write time
        assert {**row, "written": 0} == {**original[key], "written": 0}
    assert check_store(tmp_path / "new.db")["ok"]


def test_repair_refuses_an_existing_output_and_check_reports_counts(tmp_path):
    db = tmp_path / "s.db"
    _toy_store(db, [2, 3, 4])
    assert check_store(db) == {
        "store": str(db),
        "ok": True,
        "problems": [],
        "cells": 3,
        "ok_cells": 3,
        "failed_cells": 0,
    }
    with pytest.raises(ConfigError, match="must be a new file"):
        repair_store(db, db)
