"""Shared set-up: JAX's 64-bit mode for the test code, and a real single-node SLURM cluster when
this machine runs one.

featlearn itself runs its computations in JAX's 64-bit mode locally and leaves the process's
setting alone (tests/test_jax_mode.py checks that, in subprocesses without the mode, against a
process with it). The tests' own reference computations build float64 JAX arrays directly, so
the test process turns the mode on globally.
"""

from __future__ import annotations

import shutil
import subprocess

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(scope="session")
def slurm() -> str:
    """The partition of a live SLURM cluster on this machine (started by scripts/setup-slurm.sh,
    which .ci/run calls as root); the test is skipped, saying why, when there is none."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        pytest.skip("no SLURM here (sinfo/sbatch not found); scripts/setup-slurm.sh installs one")
    try:
        import dask_jobqueue  # noqa: F401
    except ImportError:
        pytest.skip("dask-jobqueue is not installed (pip install -e '.[test]')")
    try:
        info = subprocess.run(
            ["sinfo", "-h", "-o", "%P %t"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"SLURM does not answer: {exc}")
    ready = [
        line.split()[0].rstrip("*")
        for line in info.stdout.splitlines()
        if line.split()[-1] in ("idle", "mix", "alloc")
    ]
    if info.returncode != 0 or not ready:
        reason = info.stderr.strip() or info.stdout.strip() or "no node is ready"
        pytest.skip(f"SLURM is installed but not up ({reason}); run scripts/setup-slurm.sh")
    return ready[0]
