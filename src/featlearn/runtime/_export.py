"""Stored results as a flat table (pandas), and export to CSV or Parquet.

Columns of :func:`results_frame`: the store's bookkeeping (``hash, replicate, experiment, sweep,
seed, status, error, started, finished, written, wall_seconds, attempts, host, git, versions,
backend, devices, command, spec``), then the config fields (nested tables flattened with dots:
``options.kernel``), then the record's metrics. A config or metric name that collides with an
earlier column is prefixed ``config.`` / ``metrics.``. Provenance: ``backend`` and ``devices``
(comma-separated) are JAX's where the cell ran, ``command`` the sweep's command line
(``shlex.join`` of its argv), ``spec`` the sha256 of the spec text (``Store.specs``); all None in
stores written before they were recorded.

:func:`export` writes the same table with every column a plain value:

- ``started``, ``finished``, ``written`` are UTC datetimes (ISO 8601 text ending in ``Z`` in CSV,
  ``timestamp[us, UTC]`` in Parquet);
- a list of numbers or strings is one column per element, ``name.0``, ``name.1``, ... (rows with
  shorter lists hold missing values beyond their length);
- ``versions`` is one column per package, ``versions.jax``, ``versions.numpy``, ...;
- a table left empty (``options = {}``) is a missing value;
- the only JSON text left: values that are truly nested (a list holding lists or tables),
  written as JSON so that nothing is lost.
"""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from featlearn._errors import ConfigError
from featlearn.runtime._store import Store

if TYPE_CHECKING:  # pandas is imported by the functions that build frames, so that importing
    import pandas as pd  # the runtime (sweeps, dry runs) does not load it

__all__ = ["export", "flatten", "results_frame"]

META = (
    "hash",
    "replicate",
    "experiment",
    "sweep",
    "seed",
    "status",
    "error",
    "started",
    "finished",
    "written",
    "wall_seconds",
    "attempts",
    "host",
    "git",
    "versions",
    "backend",
    "devices",
    "command",
    "spec",
)
TIMES = ("started", "finished", "written")
_SCALARS = (str, int, float, bool, type(None))


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"options": {"kernel": "ntk"}}`` -> ``{"options.kernel": "ntk"}``; lists stay whole."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _row(stored: dict[str, Any], names: dict[str, set[str]]) -> dict[str, Any]:
    row = {k: stored[k] for k in META if k in stored}
    row["wall_seconds"] = stored["seconds"]
    row["versions"] = json.dumps(stored["versions"], sort_keys=True)
    row["devices"] = ", ".join(stored["devices"]) if stored.get("devices") is not None else None
    row["command"] = shlex.join(stored["argv"]) if stored.get("argv") is not None else None
    for part in ("config", "metrics"):
        for key, value in flatten(stored[part] or {}).items():
            column = f"{part}.{key}" if key in row else key
            row[column] = value
            names[part].add(column)
    return row


def results_frame(
    store: str | Path, *, status: str | None = "ok", experiment: str | None = None
) -> pd.DataFrame:
    """One row per stored cell (``status`` None = all rows; ``experiment`` None = every
    experiment), columns as in the module docstring (times as Unix seconds, lists whole,
    ``versions`` as JSON text).

    ``frame.attrs["config_columns"]`` and ``frame.attrs["metric_columns"]`` list which columns
    came from the configs and which from the records.
    """
    import pandas as pd

    names: dict[str, set[str]] = {"config": set(), "metrics": set()}
    with Store(store, create=False) as db:
        rows = [
            _row(r, names)
            for r in db.rows(status=status)
            if experiment is None or r["experiment"] == experiment
        ]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(META))
    frame.attrs["config_columns"] = [c for c in frame.columns if c in names["config"]]
    frame.attrs["metric_columns"] = [c for c in frame.columns if c in names["metrics"]]
    return frame


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _flat_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value)


def _expand(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Column ``name`` of flat lists -> columns ``name.0``, ``name.1``, ... in its place."""
    import pandas as pd

    values = [[] if _missing(v) else v for v in frame[column]]
    width = max(map(len, values), default=0)
    parts = {f"{column}.{i}": [v[i] if i < len(v) else None for v in values] for i in range(width)}
    at = frame.columns.get_loc(column)
    left, right = frame.iloc[:, :at], frame.iloc[:, at + 1 :]
    return pd.concat([left, pd.DataFrame(parts, index=frame.index), right], axis=1)


def _as_json_text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


def export_frame(store: str | Path) -> pd.DataFrame:
    """Every stored row (ok and failed) as :func:`export` writes it (module docstring)."""
    import pandas as pd

    frame = results_frame(store, status=None)
    for column in TIMES:
        frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="s", utc=True)
    versions = [json.loads(v) if isinstance(v, str) else None for v in frame["versions"]]
    table = pd.DataFrame([v or {} for v in versions], index=frame.index).add_prefix("versions.")
    at = frame.columns.get_loc("versions")
    frame = pd.concat([frame.iloc[:, :at], table, frame.iloc[:, at + 1 :]], axis=1)
    for column in [c for c in frame.columns if frame[c].dtype == "object"]:
        if any(v == {} for v in frame[column]):
            frame[column] = frame[column].map(lambda v: None if v == {} else v)
        present = [v for v in frame[column] if not _missing(v)]
        if not any(isinstance(v, list | dict) for v in present):
            continue
        if all(_flat_list(v) for v in present):
            frame = _expand(frame, column)
        else:  # truly nested: JSON text, nothing lost
            frame[column] = frame[column].map(_as_json_text)
    return frame


def _check_out(store: str | Path, fmt: str, out: str | Path | None, force: bool) -> Path:
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"--format must be 'csv' or 'parquet'; got {fmt!r}")
    out = Path(out) if out is not None else Path(store).with_suffix(f".{fmt}")
    if out.exists() and not force:
        raise ConfigError(f"{out} exists; pass --force (force=True) to overwrite it")
    if out.is_dir():
        raise ConfigError(f"cannot write {out}: it is a folder")
    return out


def export(
    store: str | Path, fmt: str = "csv", out: str | Path | None = None, *, force: bool = False
) -> Path:
    """Write every stored row (ok and failed) to ``out`` and return its path.

    Parameters
    ----------
    store : the results store (only read).
    fmt : ``csv`` or ``parquet`` (the latter needs pyarrow).
    out : the file to write; default the store's name with ``.csv`` / ``.parquet``.
    force : overwrite ``out`` when it exists; otherwise an existing ``out`` is a ConfigError.

    Columns as in the module docstring; CSV holds floats at full precision (they read back
    exactly) and times as ISO 8601 UTC (``pd.read_csv(..., parse_dates=["started", ...])``).
    """
    out = _check_out(store, fmt, out, force)
    if fmt == "csv":
        frame = export_frame(store)
        frame.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        return out
    try:
        import pyarrow as pa
    except ImportError:
        raise ConfigError(
            "--format parquet needs pyarrow, which is not installed; "
            "install it with: pip install 'featlearn[parquet]'"
        ) from None
    frame = export_frame(store)
    for column in TIMES:
        frame[column] = frame[column].astype("datetime64[us, UTC]")
    try:
        frame.to_parquet(out, index=False)
    except pa.ArrowException:  # a column mixing types (a number here, a name there): as text
        mixed = [c for c in frame.columns if frame[c].dtype == "object"]
        frame.astype(dict.fromkeys(mixed, "string")).to_parquet(out, index=False)
    return out
