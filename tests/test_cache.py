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


# featlearn's executable cache (featlearn._jax.jit): each run is a fresh process, as for the CLI.
EXEC_SCRIPT = """
import json, sys
import jax, jax.monitoring, numpy as np
from featlearn._cache import configure_compilation_cache
configure_compilation_cache(sys.argv[1])
compiled = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, _, **kw: compiled.append(kw.get("fun_name"))
    if event.endswith("backend_compile_duration") else None
)
from featlearn.networks import get_activation
from featlearn.learners._steps import _masked_features
rng = np.random.default_rng(0)
W, b = rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal(6).astype(np.float32)
X, y = rng.standard_normal((8, 3)).astype(np.float32), rng.standard_normal(8).astype(np.float32)
w = np.array([1] * 5 + [0] * 3, np.float32)
Phi, r = _masked_features(W, b, X, y, w, np.float32(0.5), np.zeros(3, np.float32),
                          get_activation("relu"))
print(json.dumps({"Phi": np.asarray(Phi).tolist(), "r": np.asarray(r).tolist(),
                  "compiled": compiled}))
"""


def _exec_run(folder) -> dict:
    import json

    env = {k: v for k, v in os.environ.items() if k != ENV}
    out = subprocess.run(
        [sys.executable, "-c", EXEC_SCRIPT, str(folder)], capture_output=True, text=True,
        env=env, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _reference():
    import numpy as np

    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal(6)
    X, y = rng.standard_normal((8, 3)).astype(np.float32), rng.standard_normal(8)
    w = np.array([1] * 5 + [0] * 3)
    Phi = np.maximum(X @ W.T + b.astype(np.float32), 0) * w[:, None]
    return Phi, (y.astype(np.float32) - 0.5) * w


def test_executables_are_kept_and_reloaded_without_compiling(tmp_path):
    import numpy as np

    folder = tmp_path / "cache"
    first = _exec_run(folder)
    assert any(name.startswith("jit(_masked_features") for name in first["compiled"])
    kept = list((folder / "executables").rglob("*"))
    assert any(p.is_file() for p in kept), "no executable written"
    second = _exec_run(folder)
    assert second["compiled"] == [], second["compiled"]  # loaded, not compiled
    Phi, r = _reference()
    for run in (first, second):
        np.testing.assert_allclose(run["Phi"], Phi, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(run["r"], r, rtol=1e-5, atol=1e-6)


def test_a_damaged_or_missing_executable_is_compiled_again_and_still_right(tmp_path):
    """A truncated file is compiled again; with the executables gone but JAX's own cache warm,
    JAX's copy (which does not serialise whole on CPU) is not what gets written: the file the
    next run loads computes the right numbers."""
    import shutil

    import numpy as np

    folder = tmp_path / "cache"
    _exec_run(folder)
    (entry,) = [p for p in (folder / "executables").rglob("*") if p.is_file()]
    entry.write_bytes(entry.read_bytes()[:100])
    damaged = _exec_run(folder)
    assert damaged["compiled"], "a damaged executable was used"
    shutil.rmtree(folder / "executables")
    rebuilt = _exec_run(folder)  # JAX's cache answers, then a fresh compile is kept
    reloaded = _exec_run(folder)
    assert reloaded["compiled"] == []
    Phi, r = _reference()
    for run in (damaged, rebuilt, reloaded):
        np.testing.assert_allclose(run["Phi"], Phi, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(run["r"], r, rtol=1e-5, atol=1e-6)


def test_static_arguments_without_an_identity_are_not_cached(tmp_path, monkeypatch):
    """An unregistered activation has no cache token: the call runs through plain jax.jit and
    nothing is written."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from featlearn import _cache
    from featlearn._jax import _static_token, jit
    from featlearn.networks import get_activation
    from featlearn.networks._activations import Activation

    relu = get_activation("relu")
    mine = Activation("mine", jnp.tanh, lambda z: 1 - jnp.tanh(z) ** 2, relu.dual, relu.dual)
    assert _static_token(relu) == "activation:relu" and _static_token(mine) is None
    assert _static_token((1, "a", np.dtype("float32"))) == "(1,'a',dtype:float32)"
    monkeypatch.setattr(_cache, "_executables", tmp_path)

    @jit
    def double(x):
        return 2 * x

    f = jit(lambda x, act: act.fn(x), static_argnames=("act",))
    np.testing.assert_allclose(f(jnp.ones(3), act=mine), np.tanh(np.ones(3)), rtol=1e-6)
    assert not any(tmp_path.iterdir())
    with jax.enable_x64(True):
        assert double(np.arange(3.0)).dtype == np.float64
    np.testing.assert_array_equal(double(np.arange(3.0, dtype=np.float32)), [0.0, 2.0, 4.0])
    assert len(list(tmp_path.rglob("*"))) >= 2  # one folder, one executable per x64 mode


def test_an_executable_that_fails_when_run_is_compiled_again(tmp_path, monkeypatch):
    """A kept executable can load and still fail when run ("Function ... not found", what JAX's
    own CPU copies gave): the call compiles the program afresh, answers right, and the bad file
    is replaced."""
    import jax
    import numpy as np

    from featlearn import _cache, _jax

    monkeypatch.setattr(_cache, "_executables", tmp_path)

    @_jax.jit
    def triple(x):
        return 3 * x

    x = np.arange(4.0, dtype=np.float32)
    np.testing.assert_array_equal(triple(x), 3 * x)  # compiled and kept
    (kept,) = [p for p in tmp_path.rglob("*") if p.is_file()]

    class Partial:
        def __call__(self, *args):
            raise jax.errors.JaxRuntimeError("NOT_FOUND: Function fusion.1 not found")

    monkeypatch.setattr(_jax, "_load", lambda path: Partial())
    fresh = _jax.jit(lambda x: 3 * x)  # another wrapper: nothing in its memory yet
    fresh._name = triple._name  # the same key, so the same file
    np.testing.assert_array_equal(fresh(x), 3 * x)
    assert kept.exists() and [p for p in tmp_path.rglob("*") if p.is_file()] == [kept]


def test_a_class_static_argument_that_is_no_dtype_has_no_identity():
    """Classes name dtypes as static arguments (jnp.float32); any other class would map to
    NumPy's object dtype, and two such classes to one key: it gets no identity instead."""
    import jax.numpy as jnp
    import numpy as np

    from featlearn._jax import _static_token

    assert _static_token(jnp.float32) == _static_token(np.dtype("float32")) == "dtype:float32"
    assert _static_token(dict) is None and _static_token(object) is None
