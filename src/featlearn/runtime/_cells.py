"""Cells: one (experiment, resolved config, replicate), its hash and seed, and how a worker runs it.

Everything here is picklable and imported by worker processes; the worker side
(:func:`execute_cell`) imports the experiment lazily, so a worker pays JAX's import and compile
costs once and keeps them warm across cells.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import json
import platform
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featlearn._errors import ConfigError
from featlearn.runtime._blas import blas_threads, cell_blas_threads

__all__ = [
    "Cell",
    "CellResult",
    "canonical_json",
    "cell_hash",
    "cell_seed",
    "check_experiment_ref",
    "config_to_dict",
    "environment",
    "execute_cell",
    "execute_cells",
    "jax_devices",
    "jsonable",
    "resolve_experiment",
]

_VERSIONED = ("featlearn", "jax", "jaxlib", "numpy", "scipy", "pydantic", "dask", "distributed")


_PLAIN = (str, int, float, bool, type(None))


def jsonable(value: Any) -> Any:
    """``value`` as plain Python JSON data: the one numpy/JAX -> JSON conversion of featlearn.

    Records enter the store through it (:func:`canonical_json`); the CLI's ``--json`` output and
    the claims report use it too.

    - numpy scalars (``np.float32(1.5)``, ``np.int64``, ``np.bool_``, ``np.str_``) -> ``float``,
      ``int``, ``bool``, ``str``; numpy and JAX arrays (anything with ``tolist``) -> nested lists,
      a 0-d array -> its scalar;
    - tuples, lists -> lists; sets -> sorted lists (so equal sets give equal text); mappings ->
      dicts, keys converted as ``json`` does (``1`` -> ``"1"``, ``True`` -> ``"true"``);
    - NaN and +-inf stay floats: the store's JSON text writes them ``NaN``/``Infinity``/
      ``-Infinity``, which Python's json reads back as the same floats (strict JSON parsers do
      not accept them);
    - anything else (a datetime, an object) raises TypeError naming its type.
    """
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if hasattr(value, "tolist"):  # numpy scalars and arrays, JAX arrays (no import needed)
        plain = value.tolist()
        if type(plain) is not type(value):
            return jsonable(plain)
    else:
        for plain_type in (str, int, float):
            if isinstance(value, plain_type):  # a subclass: an IntEnum, a StrEnum...
                return plain_type(value)
    raise TypeError(f"value of type {type(value).__name__} is not JSON-serialisable: {value!r}")


def _key(key: Any) -> str:
    """A mapping key as the string json would write for it."""
    key = jsonable(key)
    if isinstance(key, str):
        return key
    if type(key) in _PLAIN:
        return json.dumps(key)
    raise TypeError(f"mapping key of type {type(key).__name__} is not JSON-serialisable: {key!r}")


def canonical_json(value: Any) -> str:
    """Canonical JSON of ``jsonable(value)``: sorted keys, no spaces, floats by ``repr``; equal
    values give equal text."""
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"))


def config_to_dict(config: Any) -> dict[str, Any]:
    """A validated config (pydantic model, dataclass or mapping) as a plain JSON dict."""
    if hasattr(config, "model_dump"):
        data = config.model_dump(mode="json")
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        data = dataclasses.asdict(config)
    elif isinstance(config, Mapping):
        data = dict(config)
    else:
        raise ConfigError(
            f"an experiment's validate must return a pydantic model, dataclass or dict; "
            f"got {type(config).__name__}"
        )
    return json.loads(canonical_json(data))


def cell_hash(experiment: str, config: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of ``{"experiment": name, "config": resolved config}``."""
    text = canonical_json({"experiment": experiment, "config": dict(config)})
    return hashlib.sha256(text.encode()).hexdigest()


def cell_seed(hash_: str, replicate: int) -> int:
    """Seed in [0, 2^31) from the cell hash and the replicate index (sha256 of ``hash:replicate``)."""
    digest = hashlib.sha256(f"{hash_}:{replicate}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


PLUGIN_GROUP = "featlearn.experiments"


def check_experiment_ref(ref: str, allow_import: bool) -> None:
    """Refuse a ``"module:attr"`` experiment unless ``allow_import``: importing a module runs its
    code, which a spec file alone must not be able to do (``--allow-import`` says the user wants it).
    Registered names and installed plugins (entry points) need no permission."""
    if ":" in ref and not allow_import:
        raise ConfigError(
            f"experiment {ref!r} names a Python module to import, which runs its code; "
            f"pass --allow-import to run it, or install it as a {PLUGIN_GROUP!r} entry point"
        )


def _plugins() -> dict[str, Any]:
    """Experiments that installed packages declare as entry points (loaded on lookup only)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


def _import_ref(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"experiment {ref!r}: cannot import {module_name!r} ({exc})") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"experiment {ref!r}: {module_name} has no {attr!r}") from None


def resolve_experiment(
    ref: str, registry: Mapping[str, Any] | None = None, *, allow_import: bool = True
) -> Any:
    """The Experiment named ``ref``: a key of ``registry`` (default
    ``featlearn.experiments.EXPERIMENTS``), an installed plugin (an entry point of the group
    ``featlearn.experiments``), or ``"package.module:attribute"`` naming an Experiment object,
    imported only when ``allow_import`` (see :func:`check_experiment_ref`)."""
    if ":" in ref:
        check_experiment_ref(ref, allow_import)
        return _import_ref(ref)
    if registry is None:
        from featlearn.experiments import EXPERIMENTS as registry
    if ref in registry:
        return registry[ref]
    plugins = _plugins()
    if ref in plugins:
        return plugins[ref].load()
    known = sorted({*registry, *plugins})
    raise ConfigError(f"experiment must be one of {known} or 'module:attr'; got {ref!r}")


@dataclass(frozen=True)
class Cell:
    """One unit of a sweep: experiment reference, resolved config, replicate, hash and seed.

    ``label`` is a short human description of the grid point (e.g. ``d=8 n=100``), for messages.
    """

    experiment: str
    config: dict[str, Any]
    replicate: int
    hash: str
    seed: int
    label: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.hash, self.replicate)

    @property
    def short(self) -> str:
        return f"{self.hash[:12]}/{self.replicate}"


@dataclass(frozen=True)
class CellResult:
    """What a worker sends back; one row of the store (JSON text fields are already serialised).

    ``backend`` and ``devices`` (a JSON list of device names) are JAX's where the cell ran, None
    when JAX is not imported in that process (an experiment that does not use it, a cell that
    failed before reaching it) and for a lost cell (it ran nowhere).
    """

    hash: str
    replicate: int
    experiment: str
    seed: int
    config: str
    metrics: str | None
    status: str  # "ok" | "failed"
    error: str | None
    started: float
    finished: float
    seconds: float  # wall time of validate + run on the worker
    host: str
    versions: str
    git: str | None
    attempts: int = 1
    backend: str | None = None
    devices: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.hash, self.replicate)


@functools.cache
def _git_revision() -> str | None:
    """``git rev-parse HEAD`` of the featlearn source tree (``+dirty`` if modified), or None."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        return None
    try:
        run = functools.partial(
            subprocess.run, cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
        rev = run(["git", "rev-parse", "HEAD"]).stdout.strip()
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{rev}+dirty" if dirty else rev


@functools.cache
def environment() -> tuple[str, str, str | None]:
    """(host, versions JSON, git revision) of this process, computed once per process."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return socket.gethostname(), canonical_json(versions), _git_revision()


def jax_devices() -> tuple[str | None, str | None]:
    """(JAX's default backend, JSON list of its devices) in this process, or (None, None) when
    JAX is not imported here: the runtime never imports JAX itself (dry runs stay JAX-free)."""
    jax = sys.modules.get("jax")
    if jax is None:
        return None, None
    try:
        return jax.default_backend(), canonical_json([str(d) for d in jax.devices()])
    except Exception:  # noqa: BLE001 - a backend that cannot start is not this cell's failure
        return None, None


def _record_json(record: Any) -> str:
    """The record as canonical JSON (NaN/inf kept: Python's json reads them back), or a TypeError
    naming the first key whose value is not JSON-serialisable."""
    if not isinstance(record, Mapping):
        raise TypeError(f"experiment run must return a dict; got {type(record).__name__}")
    try:
        return canonical_json(dict(record))
    except TypeError:
        for key, value in record.items():
            try:
                canonical_json(value)
            except TypeError as exc:
                raise TypeError(f"record key {key!r}: {exc}") from None
        raise


def _result(cell: Cell, attempts: int, **fields: Any) -> CellResult:
    """A CellResult for ``cell``: its identity, this host's environment, and ``fields``."""
    host, versions, git = environment()
    backend, devices = jax_devices()
    return CellResult(
        hash=cell.hash,
        replicate=cell.replicate,
        experiment=cell.experiment,
        seed=cell.seed,
        config=canonical_json(cell.config),
        host=host,
        versions=versions,
        git=git,
        attempts=attempts,
        backend=backend,
        devices=devices,
        **fields,
    )


def execute_cell(
    cell: Cell, attempts: int = 1, registry: Mapping[str, Any] | None = None
) -> CellResult:
    """Run one cell where this function is called (worker side); never raises for the cell's errors.

    The experiment's own exceptions become a ``failed`` result carrying the traceback; the worker
    process stays alive for the next cell. The cell runs with ``FEATLEARN_BLAS_THREADS`` (default
    1) BLAS threads, so that its metrics are bit-identical on every executor of one machine.
    """
    started, t0 = time.time(), time.perf_counter()
    metrics, error, status = None, None, "ok"
    try:
        with blas_threads(cell_blas_threads()):  # the same reduction order on every executor
            experiment = resolve_experiment(cell.experiment, registry)
            config = experiment.validate(dict(cell.config), source=f"cell {cell.short}")
            metrics = _record_json(experiment.run(config, seed=cell.seed))
    except Exception as exc:  # noqa: BLE001 - a failing cell is data, not a crash of the sweep
        status = "failed"
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-8)}"
    seconds = time.perf_counter() - t0
    return _result(
        cell, attempts, metrics=metrics, status=status, error=error,
        started=started, finished=time.time(), seconds=seconds,
    )  # fmt: skip


def execute_cells(cells: list[Cell]) -> list[CellResult]:
    """Several cells in one task (batches of tiny cells on Dask), each timed on its own."""
    return [execute_cell(cell) for cell in cells]


def lost_cell(cell: Cell, attempts: int, why: str) -> CellResult:
    """A ``failed`` result for a cell whose worker died ``attempts`` times (recorded, not lost)."""
    now = time.time()
    result = _result(
        cell, attempts, metrics=None, status="failed", error=f"WorkerDied: {why}",
        started=now, finished=now, seconds=0.0,
    )  # fmt: skip
    return dataclasses.replace(result, backend=None, devices=None)  # it ran nowhere


def warm_worker() -> None:
    """Process-pool initializer: exit with the parent (see ``_signals.watch_parent``), and import
    featlearn's experiments (and JAX) once per worker."""
    from featlearn.runtime._signals import watch_parent

    watch_parent()
    from featlearn._cache import configure_compilation_cache

    configure_compilation_cache()  # the parent's choice, through FEATLEARN_CACHE_DIR
    import featlearn.experiments  # noqa: F401
