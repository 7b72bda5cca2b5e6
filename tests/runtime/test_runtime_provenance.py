"""Records a reader can trust: the one JSON conversion, and each cell's provenance (JAX backend
and devices, the sweep's command line, its spec text), also in stores written before them."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from runtime_toy import TOY

from featlearn.experiments import Experiment
from featlearn.runtime import (
    Store,
    canonical_json,
    check_store,
    export,
    jsonable,
    load_spec,
    parse_spec,
    repair_store,
    results_frame,
    run_sweep,
)


def _numpy_record(cfg, *, seed):
    """A record in numpy and JAX types; ``PLAIN`` is the same written by hand."""
    return {
        "f32": np.float32(1.5),
        "f64": np.float64(-0.1),
        "i64": np.int64(7),
        "flag": np.bool_(True),
        "name": np.str_("ntk"),
        "zero_d": np.array(2.25),
        "matrix": np.arange(6, dtype=np.int32).reshape(2, 3),
        "jax_vector": jnp.asarray([0.5, 0.25], dtype=jnp.float32),
        "jax_scalar": jnp.asarray(3.0, dtype=jnp.float32),
        "pair": (np.float64(1.0), 2),
        "nested": {"a": [np.float32(0.75), (np.int8(1),)]},
        "nan": np.float64("nan"),
        "inf": np.inf,
        "minus_inf": -np.inf,
        "none": None,
    }


PLAIN = {
    "f32": 1.5,
    "f64": -0.1,
    "i64": 7,
    "flag": True,
    "name": "ntk",
    "zero_d": 2.25,
    "matrix": [[0, 1, 2], [3, 4, 5]],
    "jax_vector": [0.5, 0.25],
    "jax_scalar": 3.0,
    "pair": [1.0, 2],
    "nested": {"a": [0.75, [1]]},
    "inf": math.inf,
    "minus_inf": -math.inf,
    "none": None,
}
NUMPY = Experiment("numpy", TOY.validate, _numpy_record)


def _plain_types(value) -> bool:
    if isinstance(value, dict):
        return all(type(k) is str and _plain_types(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_types(v) for v in value)
    return type(value) in (str, int, float, bool, type(None))


def test_jsonable_turns_numpy_and_jax_values_into_plain_python():
    out = jsonable(_numpy_record(None, seed=0))
    assert _plain_types(out)
    assert math.isnan(out.pop("nan"))  # NaN stays a float NaN (NaN != NaN: checked apart)
    assert out == PLAIN
    assert jsonable({1: 2, False: 0, None: np.float32(0.5)}) == {"1": 2, "false": 0, "null": 0.5}
    assert jsonable({3, 1, 2}) == [1, 2, 3]  # sets sorted: equal sets, equal text


def test_jsonable_refuses_what_json_cannot_hold():
    import datetime

    with pytest.raises(TypeError, match="datetime"):
        jsonable({"when": datetime.datetime(2024, 1, 1)})
    with pytest.raises(TypeError, match="object"):
        jsonable([object()])


def test_canonical_json_of_plain_values_is_unchanged_so_cell_hashes_stay():
    config = {"d": 8, "n": 100.0, "options": {"kernel": "ntk", "grid": [1, 2.5]}, "b": None}
    reference = json.dumps(config, sort_keys=True, separators=(",", ":"))
    assert canonical_json(config) == reference
    numpy_config = {**config, "d": np.int64(8), "n": np.float64(100.0)}
    assert canonical_json(numpy_config) == reference


def test_numpy_records_go_through_the_store_and_come_back_plain(tmp_path):
    db = tmp_path / "n.db"
    run_sweep(parse_spec({"experiment": "numpy"}), db, progress="quiet", registry={"numpy": NUMPY})
    with Store(db, create=False) as store:
        (row,) = store.rows()
    metrics = row["metrics"]
    assert row["status"] == "ok" and _plain_types(metrics)
    assert math.isnan(metrics.pop("nan"))
    assert metrics == PLAIN  # inf and -inf survive the store's JSON text as floats


def _spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "prov.toml"
    path.write_text(
        '# provenance test\nname = "prov"\nexperiment = "toy"\n[grid]\nk = [2, 3]  # two cells\n'
    )
    return path


def test_each_cell_records_backend_devices_argv_and_its_spec(tmp_path):
    spec_path, db = _spec_file(tmp_path), tmp_path / "p.db"
    text = spec_path.read_text()
    spec = load_spec(spec_path)
    assert spec.text == text  # the original text, comments included
    argv = ["featlearn", "sweep", str(spec_path), "--store", "p.db"]
    run_sweep(spec, db, progress="quiet", registry={"toy": TOY}, argv=argv)
    digest = hashlib.sha256(text.encode()).hexdigest()
    devices = [str(d) for d in jax.devices()]
    with Store(db, create=False) as store:
        rows = list(store.rows())
        assert store.specs() == {("prov", digest): text}
    assert len(rows) == 2
    for row in rows:
        assert row["backend"] == jax.default_backend() and row["devices"] == devices
        assert row["argv"] == argv and row["spec"] == digest and row["sweep"] == "prov"
    frame = results_frame(db)
    assert set(frame["command"]) == {f"featlearn sweep {spec_path} --store p.db"}
    assert set(frame["devices"]) == {", ".join(devices)}


def test_default_argv_is_the_sweep_process_and_a_dict_spec_stores_no_text(tmp_path):
    db = tmp_path / "d.db"
    run_sweep(parse_spec({"experiment": "toy"}), db, progress="quiet", registry={"toy": TOY})
    with Store(db, create=False) as store:
        (row,) = store.rows()
        assert store.specs() == {}
    assert row["argv"] == sys.argv and row["spec"] is None


def test_a_pool_worker_records_its_own_backend_and_the_parents_argv(tmp_path):
    """The worker runs the cell (its backend), the parent writes the row (its argv)."""
    tiny = {"learner": "kernel-ridge", "d": 3, "n": 16, "n_val": 16, "n_test": 16}
    spec = parse_spec({"experiment": "fit", "base": tiny})
    argv = ["featlearn", "sweep", "pool.toml", "--workers", "1"]
    run_sweep(spec, tmp_path / "w.db", workers=1, progress="quiet", argv=argv)
    with Store(tmp_path / "w.db", create=False) as store:
        (row,) = store.rows()
    assert row["status"] == "ok" and row["argv"] == argv
    assert row["backend"] == jax.default_backend()  # the worker's JAX, on this same machine
    assert row["devices"] == [str(d) for d in jax.devices()]


_OLD_SCHEMA = """
CREATE TABLE cells (
    hash TEXT NOT NULL, replicate INTEGER NOT NULL, experiment TEXT NOT NULL, sweep TEXT,
    seed INTEGER NOT NULL, config TEXT NOT NULL, metrics TEXT,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')), error TEXT, started REAL,
    finished REAL, seconds REAL, attempts INTEGER NOT NULL DEFAULT 1, host TEXT, versions TEXT,
    git TEXT, written REAL NOT NULL, PRIMARY KEY (hash, replicate)
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
INSERT INTO cells VALUES ('abc123', 0, 'toy', 'old', 5, '{"k":2}', '{"value":1.5,"vector":[1,2]}',
    'ok', NULL, 1700000000.0, 1700000001.5, 1.5, 1, 'oldhost', '{"python":"3.11.0"}', NULL,
    1700000002.0);
"""


def _old_store(path: Path) -> Path:
    """A store as featlearn wrote it before the provenance columns existed."""
    with sqlite3.connect(path) as conn:
        conn.executescript(_OLD_SCHEMA)
    conn.close()
    return path


def test_a_store_written_before_the_provenance_columns_still_reads(tmp_path):
    db = _old_store(tmp_path / "old.db")
    with Store(db, create=False) as store:
        (row,) = store.rows()
        assert store.specs() == {}
    assert row["metrics"] == {"value": 1.5, "vector": [1, 2]}
    assert (row["backend"], row["devices"], row["argv"], row["spec"]) == (None,) * 4
    frame = results_frame(db)
    assert frame.loc[0, "value"] == 1.5 and frame.loc[0, "command"] is None
    table = __import__("pandas").read_csv(export(db, "csv", tmp_path / "old.csv"))
    assert list(table["vector.1"]) == [2] and table.loc[0, "host"] == "oldhost"
    assert check_store(db)["ok"] and check_store(db)["cells"] == 1
    summary = repair_store(db, tmp_path / "copy.db")
    assert summary.recovered == 1 and summary.invalid == 0
    with sqlite3.connect(db) as conn:  # reading changed nothing: still the old columns
        assert "backend" not in {r[1] for r in conn.execute("PRAGMA table_info(cells)")}
    conn.close()


def test_a_sweep_on_an_old_store_adds_the_columns_and_keeps_the_old_row(tmp_path):
    db = _old_store(tmp_path / "old.db")
    run_sweep(parse_spec({"experiment": "toy"}), db, progress="quiet", registry={"toy": TOY})
    with Store(db, create=False) as store:
        rows = {r["hash"]: r for r in store.rows()}
    assert len(rows) == 2 and rows["abc123"]["backend"] is None
    assert rows["abc123"]["metrics"] == {"value": 1.5, "vector": [1, 2]}
    (new,) = [r for h, r in rows.items() if h != "abc123"]
    assert new["backend"] == jax.default_backend() and new["argv"] == sys.argv
