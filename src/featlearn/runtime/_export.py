"""Stored results as a flat table (pandas), and export to CSV or Parquet.

Columns: the store's bookkeeping (``hash, replicate, experiment, sweep, seed, status, error,
started, finished, wall_seconds, attempts, host, git, versions``), then the config fields (nested
tables flattened with dots: ``options.kernel``), then the record's metrics. A config or metric name
that collides with an earlier column is prefixed ``config.`` / ``metrics.``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from featlearn._errors import ConfigError
from featlearn.runtime._store import Store

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
    "wall_seconds",
    "attempts",
    "host",
    "git",
    "versions",
)


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
    experiment), columns as in the module docstring.

    ``frame.attrs["config_columns"]`` and ``frame.attrs["metric_columns"]`` list which columns
    came from the configs and which from the records.
    """
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


def _as_text(frame: pd.DataFrame, types: tuple[type, ...] = (list, dict)) -> pd.DataFrame:
    """Lists and dicts (or only ``types``) as JSON text: CSV cells, Parquet columns Arrow cannot
    type (empty tables ``{}`` above all)."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, types)).any():
            frame[column] = frame[column].map(
                lambda v: json.dumps(v) if isinstance(v, list | dict) else v
            )
    return frame


def export(store: str | Path, fmt: str = "csv", out: str | Path | None = None) -> Path:
    """Write every stored row (ok and failed) to ``out`` (default: the store's name with .csv /
    .parquet) and return its path. CSV holds lists as JSON text and floats at full precision."""
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"--format must be 'csv' or 'parquet'; got {fmt!r}")
    frame = results_frame(store, status=None)
    out = Path(out) if out is not None else Path(store).with_suffix(f".{fmt}")
    if fmt == "csv":
        _as_text(frame).to_csv(out, index=False)
        return out
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ConfigError(
            "--format parquet needs pyarrow, which is not installed; "
            "install it with: pip install 'featlearn[parquet]'"
        ) from None
    import pyarrow as pa

    try:
        _as_text(frame, (dict,)).to_parquet(out, index=False)  # lists stay Arrow lists
    except pa.ArrowException:
        _as_text(frame).to_parquet(out, index=False)
    return out
