"""The persistent compilation cache: where it goes, how it is disabled, and that a compiled
program lands in it (in a subprocess, so this test process's JAX configuration is untouched)."""

import os
import subprocess
import sys
from pathlib import Path

from featlearn._cache import ENV, cache_dir

SCRIPT = """
import sys, jax, jax.numpy as jnp
from featlearn._cache import configure_compilation_cache
path = configure_compilation_cache(sys.argv[1])
print(path)
jax.jit(lambda x: jnp.sin(x) @ x.T)(jnp.ones((8, 8))).block_until_ready()
"""


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.setenv(ENV, "off")
    assert cache_dir() is None
    monkeypatch.delenv(ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "featlearn" / "jax"
    assert cache_dir(tmp_path / "x") == tmp_path / "x"


def test_a_compiled_program_is_written_to_the_cache(tmp_path):
    folder = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if k != ENV}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder)], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == folder
    assert any(folder.iterdir()), "no cache entry written"
    off = subprocess.run(
        [sys.executable, "-c", SCRIPT, "off"], capture_output=True, text=True, env=env, timeout=300
    )
    assert off.returncode == 0 and off.stdout.strip() == "None"


LAZY_SCRIPT = """
import sys
from featlearn._cache import configure_compilation_cache
path = configure_compilation_cache(sys.argv[1])
assert "jax" not in sys.modules, "configuring the cache imported JAX"
import jax, jax.numpy as jnp
assert jax.config.jax_compilation_cache_dir == str(path)
assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0
jax.jit(lambda x: jnp.cos(x) @ x.T)(jnp.ones((8, 8))).block_until_ready()
print(path)
"""


def test_the_cache_is_configured_without_importing_jax(tmp_path):
    """Before JAX is loaded, the options go into the environment JAX reads at its import."""
    folder = tmp_path / "lazy"
    env = {k: v for k, v in os.environ.items() if k != ENV and not k.startswith("JAX_")}
    out = subprocess.run(
        [sys.executable, "-c", LAZY_SCRIPT, str(folder)], capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == folder
    assert any(folder.iterdir()), "no cache entry written"
