"""Helpers shared by the runtime tests: the CLI in a subprocess, folder snapshots, process checks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cli(*args: str, cwd: Path | None = None, **popen) -> subprocess.Popen:
    """``featlearn ARGS`` in a subprocess that can import the toy experiments (stdout, stderr piped)."""
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    cmd = [sys.executable, "-m", "featlearn.cli", *args]
    return subprocess.Popen(cmd, env=env, cwd=cwd, text=True, **popen)


def run_cli(*args: str, timeout: float = 300, **popen) -> tuple[int, str, str]:
    proc = cli(*args, **popen)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return proc.returncode, out, err


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    """``featlearn ARGV`` in this process through ``featlearn.cli.main``: (exit status, stdout,
    stderr)."""
    import pytest

    from featlearn.cli import main

    with pytest.raises(SystemExit) as info:
        main(list(argv))
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def one_line(err: str) -> str:
    """The single stderr line of a failed command (asserts there is exactly one, no traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder``: (mode, sha256 of its bytes), by relative path."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(folder))] = (path.stat().st_mode, digest)
    return out


def children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _stat(int(entry.name))) is not None:
            state, ppid = info
            if ppid == pid and state != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    info = _stat(pid)
    return info is not None and info[0] != "Z"


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return fields[0], int(fields[1])
