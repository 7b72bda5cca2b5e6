"""Hostile input: specs that would import code or choose where files go, inputs that used to end
in tracebacks, and grids too large to hold in memory. Every failure is one line with exit 2
(bad input) or 1 (the machine failed)."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys

import pytest
from runtime_helpers import HERE, cli, one_line, run_main

from featlearn.runtime import parse_spec, run_sweep
from featlearn.runtime._open import sqlite_error

ROOT = os.geteuid() == 0


@pytest.fixture
def marker_module(tmp_path, monkeypatch):
    """A module that writes a marker file when imported, and the spec that names it."""
    marker = tmp_path / "imported"
    (tmp_path / "marker_mod.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
        "from runtime_toy import TOY\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = tmp_path / "evil.toml"
    spec.write_text('experiment = "marker_mod:TOY"\n[grid]\nk = [2]\n')
    return spec, marker


def test_module_attr_needs_allow_import_and_imports_nothing_without_it(
    capsys, tmp_path, marker_module
):
    spec, marker = marker_module
    db = str(tmp_path / "s.db")
    for extra in ([], ["--dry-run"]):
        code, out, err = run_main(capsys, "sweep", str(spec), "--store", db, *extra)
        assert code == 2 and out == "" and "--allow-import" in one_line(err)
        assert not marker.exists(), "the module was imported without --allow-import"
    assert not (tmp_path / "s.db").exists()
    code, out, err = run_main(
        capsys, "sweep", str(spec), "--store", db, "--dry-run", "--allow-import"
    )
    assert code == 0 and "1 cells, 1 to run" in out and marker.read_text() == "ran"
    (tmp_path / "zen.toml").write_text('experiment = "this:s"\n')
    code, out, err = run_main(capsys, "sweep", str(tmp_path / "zen.toml"), "--dry-run")
    assert code == 2 and out == "" and "Beautiful is better" not in err


@pytest.mark.parametrize("name", ["../../escape/x", "/tmp/abs/y", "..", "a b/../c"])
def test_store_named_after_the_spec_is_a_plain_file_in_the_current_folder(
    capsys, tmp_path, monkeypatch, name
):
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    spec = tmp_path / "named.toml"
    spec.write_text(f'name = "{name}"\nexperiment = "runtime_toy:TOY"\n[grid]\nk = [2]\n')
    before = sorted(p for p in tmp_path.rglob("*"))
    code, out, err = run_main(capsys, "sweep", str(spec), "--allow-import", "--json")
    assert code == 0, err
    created = sorted(set(tmp_path.rglob("*")) - set(before))
    assert [p.parent for p in created] == [work] * len(created) and created
    assert any(p.suffix == ".db" and "/" not in p.name for p in created)


def _bad_spec(tmp_path, kind):
    path = tmp_path / "bad.toml"
    if kind == "not-utf8":
        path.write_bytes(b'name = "caf\xe9"\nexperiment = "fit"\n')
    elif kind == "folder":
        path.mkdir()
    elif kind == "zero-division":
        path.write_text(
            'experiment = "runtime_toy:TOY"\n[grid]\nk = [4, 6]\n'
            'x = { values = [1.0], times = "1/(k-6)" }\n'
        )
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("not-utf8", "must be UTF-8"),
        ("folder", "is a folder"),
        ("zero-division", "cannot be evaluated at {'k': 6}"),
    ],
)
def test_bad_spec_files_are_one_line_and_exit_2(capsys, tmp_path, kind, message):
    path = _bad_spec(tmp_path, kind)
    code, _, err = run_main(capsys, "sweep", str(path), "--allow-import", "--dry-run")
    assert code == 2 and message in one_line(err)


@pytest.fixture
def store(tmp_path):
    db = tmp_path / "s.db"
    spec = {"experiment": "runtime_toy:TOY", "grid": {"k": [2, 3]}}
    run_sweep(parse_spec(spec), db, progress="quiet")
    (tmp_path / "file.txt").write_text("a file, not a folder")
    return db


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "{db}", "-o", "{tmp}/missing/x.csv"], "cannot write"),
        (["export", "{db}", "-o", "{tmp}/file.txt/x.csv"], "cannot write"),
        (["report", "{db}", "-o", "{tmp}/file.txt"], "cannot write"),
        (["report", "{db}", "-o", "{tmp}/file.txt/sub"], "cannot write"),
        (["sweep", "{spec}", "--store", "{tmp}/file.txt/new/s.db"], "cannot create the store"),
        (["store", "check", "{tmp}/file.txt"], "not a featlearn results store"),
        (["store", "repair", "{db}", "{db}"], "must be a new file"),
    ],
)
def test_bad_output_paths_are_one_line_and_exit_2(capsys, tmp_path, store, argv, message):
    spec = tmp_path / "toy.toml"
    spec.write_text('experiment = "runtime_toy:TOY"\n[grid]\nk = [2]\n')
    argv = [a.format(db=store, tmp=tmp_path, spec=spec) for a in argv]
    code, _, err = run_main(capsys, *argv, *(["--allow-import"] if argv[0] == "sweep" else []))
    assert code == 2 and message in one_line(err)


@pytest.mark.skipif(ROOT, reason="root ignores file permissions")
def test_read_only_folder_and_store_say_read_only(capsys, tmp_path, store):
    spec = tmp_path / "toy.toml"
    spec.write_text('experiment = "runtime_toy:TOY"\n[grid]\nk = [2, 9]\n')
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    os.chmod(store, 0o444)
    try:
        code, _, err = run_main(capsys, "sweep", str(spec), "--allow-import", "--store", str(store))
        assert code == 2 and "read-only" in one_line(err)
        new = str(locked / "sub" / "s.db")
        code, _, err = run_main(capsys, "sweep", str(spec), "--allow-import", "--store", new)
        assert code == 2 and "cannot create the store's folder" in one_line(err)
        code, _, err = run_main(capsys, "export", str(store), "-o", str(locked / "x.csv"))
        assert code == 2 and "cannot write" in one_line(err)
    finally:
        os.chmod(store, 0o644)
        os.chmod(locked, 0o755)


def test_sqlite_errors_become_messages_that_say_what_happened(tmp_path):
    """The mapping used on open (the read-only case cannot be produced as root)."""
    path = tmp_path / "s.db"
    cases = {
        "attempt to write a readonly database": "the store is read-only",
        "database disk image is malformed": "featlearn store repair",
        "file is not a database": "not a featlearn results store",
    }
    for text, message in cases.items():
        error = sqlite_error(path, sqlite3.OperationalError(text), writing=True)
        assert message in str(error) and "\n" not in str(error)


def _limited(limit: int):
    def set_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return set_limit


def test_disk_full_is_one_line_and_exit_1(tmp_path):
    """A file-size limit makes writes fail as a full disk does (EFBIG instead of ENOSPC)."""
    spec = tmp_path / "big.toml"
    spec.write_text(
        'experiment = "runtime_toy:TOY"\n[base]\nk = 3000\n[grid]\nx = [1.0, 2.0, 3.0, 4.0]\n'
    )
    db = tmp_path / "full.db"
    env = {**os.environ, "PYTHONPATH": str(HERE), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "featlearn.cli", "sweep", str(spec), "--allow-import", "-q"]
    proc = subprocess.run(
        [*cmd, "--store", str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limited(150_000),
    )
    assert proc.returncode == 1 and "cannot store cell" in one_line(proc.stderr)
    csv = cli("export", str(db), "-o", str(tmp_path / "x.csv"), preexec_fn=_limited(20_000))
    _, err = csv.communicate(timeout=300)
    assert csv.returncode == 1 and "File too large" in one_line(err)


def _peak_mb(argv: list[str], out_path) -> tuple[int, float, str]:
    """Exit code, peak resident memory (MB) and stderr of the CLI, stdout into ``out_path``."""
    with open(out_path, "w") as out:
        proc = cli(*argv, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read()
        proc.stderr.close()
    return proc.returncode, usage.ru_maxrss / 1024, err  # ru_maxrss is in kB on Linux


def test_dry_run_of_a_million_cells_streams_in_bounded_memory(tmp_path):
    """10^6 cells (1000 grid points x 1000 replicates): the peak memory of the dry run exceeds
    that of a one-cell dry run by far less than the 2.2 GB the old list of cells needed."""
    spec = tmp_path / "huge.toml"
    spec.write_text(
        'experiment = "runtime_toy:TOY"\nreplicates = 1000\n[grid]\nk = { range = [1, 1001] }\n'
    )
    small = tmp_path / "one.toml"
    small.write_text('experiment = "runtime_toy:TOY"\n[grid]\nk = [1]\n')
    dry = ["sweep", "--allow-import", "--dry-run", "--store", str(tmp_path / "none.db")]
    code, base, _ = _peak_mb([*dry, str(small)], tmp_path / "one.txt")
    assert code == 0
    code, peak, err = _peak_mb([*dry, str(spec)], tmp_path / "huge.txt")
    assert code == 0, err
    with open(tmp_path / "huge.txt", "rb") as f:
        f.seek(-200, os.SEEK_END)
        assert f.read().decode().splitlines()[-1] == "1000000 cells, 1000000 to run"
    print(f"peak memory: {peak:.0f} MB for 10^6 cells, {base:.0f} MB for one cell")
    assert peak - base < 100, f"dry run peak {peak:.0f} MB vs {base:.0f} MB for one cell"
    assert not (tmp_path / "none.db").exists()
    code, _, err = _peak_mb([*dry, str(spec), "--max-cells", "5000"], tmp_path / "cut.txt")
    assert code == 2 and "more than max_cells = 5000" in one_line(err)
