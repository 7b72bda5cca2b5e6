"""Specs: grid expansion (lists, ranges, dependent and zipped axes, cases), hashes, seeds, errors."""

from __future__ import annotations

import hashlib
import itertools
import json

import numpy as np
import pytest
from runtime_toy import CURVE, TOY

from featlearn import ConfigError
from featlearn.runtime import cell_hash, cell_seed, expand, load_spec, parse_spec

REGISTRY = {"toy": TOY, "curve": CURVE}


def _write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _points(cells, *keys):
    return [tuple(c.config[k] for k in keys) for c in cells if c.replicate == 0]


def test_cartesian_product_ranges_and_replicates(tmp_path):
    path = _write(
        tmp_path,
        """
        experiment = "curve"
        replicates = 3
        [base]
        k = 2.0
        [grid]
        learner = ["a", "b"]
        d = { range = [2, 8, 3] }
        n = { geomspace = [10, 1000], num = 3, integer = true }
        c = { linspace = [0.5, 1.0], num = 2 }
        """,
    )
    cells = expand(load_spec(path), REGISTRY)
    expected = list(
        itertools.product(["a", "b"], [2, 5], [10, 100, 1000], [0.5, 1.0])
    )  # first axis outermost
    assert _points(cells, "learner", "d", "n", "c") == expected
    assert len(cells) == 3 * len(expected)
    assert [c.replicate for c in cells[:6]] == [0, 1, 2, 0, 1, 2]
    assert all(
        c.config["k"] == 2.0 and c.config["spread"] == 0.05 for c in cells
    )  # defaults filled


def test_dependent_axis_scales_with_d_and_is_ordered_after_it(tmp_path):
    path = _write(
        tmp_path,
        """
        experiment = "curve"
        [grid]
        n = { geomspace = [1, 30], num = 4, times = "d^2", integer = true }
        d = [4, 10]
        """,
    )
    got = _points(expand(load_spec(path), REGISTRY), "d", "n")
    want = [(d, int(round(v * d**2))) for d in (4, 10) for v in np.geomspace(1, 30, 4)]
    assert got == want


def test_zipped_axis_nested_field_and_cases(tmp_path):
    path = _write(
        tmp_path,
        """
        experiment = "toy"
        [base]
        options = { a = 1 }
        [grid]
        "x,k" = [[1.0, 2], [3.0, 5]]
        options.b = [7, 8]
        [cases.plain]
        [cases.wide]
        options = { c = 9 }
        [cases.wide.grid]
        "x,k" = [[0.5, 9]]
        """,
    )
    cells = expand(load_spec(path), REGISTRY)
    got = [(c.config["x"], c.config["k"], c.config["options"]) for c in cells]
    assert got == [
        (1.0, 2, {"a": 1, "b": 7}),
        (1.0, 2, {"a": 1, "b": 8}),
        (3.0, 5, {"a": 1, "b": 7}),
        (3.0, 5, {"a": 1, "b": 8}),
        (0.5, 9, {"a": 1, "b": 7, "c": 9}),
        (0.5, 9, {"a": 1, "b": 8, "c": 9}),
    ]
    assert cells[0].label == "case=plain x=1.0 k=2 options.b=7"
    assert cells[-1].label == "case=wide options.b=8 x=0.5 k=9"  # the case's axes come last


def test_hash_is_sha256_of_canonical_resolved_config_and_seed_depends_on_replicate(tmp_path):
    spec = parse_spec({"experiment": "toy", "replicates": 2, "base": {"x": 2}, "grid": {"k": [3]}})
    cells = expand(spec, REGISTRY)
    resolved = {"x": 2.0, "k": 3, "sleep": 0.0, "fail": False, "die_marker": None}
    resolved |= {"die_always": False, "options": {}}
    text = json.dumps(
        {"config": resolved, "experiment": "toy"}, sort_keys=True, separators=(",", ":")
    )
    assert cells[0].hash == hashlib.sha256(text.encode()).hexdigest()
    # int 2 and float 2.0 resolve to the same config, hence the same cell
    again = expand(parse_spec({"experiment": "toy", "base": {"x": 2.0, "k": 3}}), REGISTRY)
    assert again[0].hash == cells[0].hash
    assert (
        cells[0].seed == cell_seed(cells[0].hash, 0) != cells[1].seed == cell_seed(cells[0].hash, 1)
    )
    assert cell_hash("toy", resolved) != cell_hash("other", resolved)
    seeds = [cell_seed(cells[0].hash, r) for r in range(1000)]
    assert len(set(seeds)) == 1000 and all(0 <= s < 2**31 for s in seeds)


def test_duplicate_grid_points_are_kept_once(tmp_path):
    spec = parse_spec(
        {"experiment": "curve", "grid": {"n": {"geomspace": [1, 3], "num": 10, "integer": True}}}
    )
    assert _points(expand(spec, REGISTRY), "n") == [(1,), (2,), (3,)]


def test_overrides_replace_file_values(tmp_path):
    path = _write(
        tmp_path, 'experiment = "toy"\nreplicates = 2\n[base]\nx = 1.0\n[grid]\nk = [1, 2]\n'
    )
    spec = load_spec(path, ["base.x=5", "grid.k=[3]", "base.options.tag=hello"], replicates=4)
    cells = expand(spec, REGISTRY)
    assert spec.replicates == 4 and len(cells) == 4 and spec.name == "spec"
    assert cells[0].config["x"] == 5.0 and cells[0].config["k"] == 3
    assert cells[0].config["options"] == {"tag": "hello"}


BAD = [
    ('experiment = "toy"\ngird = {}', "unknown key 'gird'"),
    ('experiment = "toy"\nreplicates = 0', "replicates must be an integer >= 1; got 0"),
    ('experiment = "toy"\nreplicates = "3"', "replicates must be an integer >= 1"),
    ("replicates = 2", "experiment must be a name"),
    ('experiment = "nope"', "experiment must be one of"),
    ('experiment = "toy"\n[grid]\nk = 3', "grid.k must be a non-empty list"),
    ('experiment = "toy"\n[grid]\nk = []', "grid.k must be a non-empty list"),
    ('experiment = "toy"\n[grid]\nk = {}', "grid.k must be a non-empty list"),
    (
        'experiment = "toy"\n[grid]\nx = { geomspace = [0, 1], num = 3 }',
        "grid.x.geomspace must hold two numbers > 0",
    ),
    ('experiment = "toy"\n[grid]\nx = { linspace = [0, 1] }', "grid.x.num must be an integer >= 1"),
    (
        'experiment = "toy"\n[grid]\nx = { linspace = [0, 1], num = 2, step = 1 }',
        "unknown key 'step'",
    ),
    (
        'experiment = "toy"\n[grid]\nx = { values = [1], times = "D^2" }',
        "grid.x.times: unknown name 'D'",
    ),
    (
        'experiment = "toy"\n[grid]\nx = { values = [1], times = "__import__(1)" }',
        "grid.x.times: expression",
    ),
    ('experiment = "toy"\n[grid]\n"x,k" = [[1.0]]', 'grid."x,k"[0] must be a list of 2 values'),
    (
        'experiment = "toy"\n[grid]\nx = { values = [1], times = "k" }\nk = { values = [1], times = "x" }',
        "cycle",
    ),
    ('experiment = "toy"\n[base]\nbogus = 1', "bogus"),
    ('experiment = "toy"\n[grid]\nk = [1, 0]', "k: Input should be greater than or equal to 1"),
    ('experiment = "toy"\n[grid]\nk = [1]\n[cases.a]\nk = 2', "cases.a.k: k is also a grid axis"),
    ('experiment = "toy"\n[base\n', "invalid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_malformed_specs_give_one_error_naming_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, text, "bad.toml")
    with pytest.raises(ConfigError) as info:
        expand(load_spec(path), REGISTRY)
    text = str(info.value)
    assert message in text and "bad.toml" in text
    assert "\n" not in text


def test_experiment_errors_name_the_grid_point(tmp_path):
    path = _write(tmp_path, 'experiment = "toy"\n[grid]\nk = [2, -1]\nx = [1.0]\n', "cells.toml")
    with pytest.raises(ConfigError, match=r"cells\.toml \[k=-1 x=1\.0\]: k: "):
        expand(load_spec(path), REGISTRY)


def test_missing_file_and_bad_set(tmp_path):
    with pytest.raises(ConfigError, match="spec file not found"):
        load_spec(tmp_path / "none.toml")
    path = _write(tmp_path, 'experiment = "toy"\n')
    with pytest.raises(ConfigError, match="--set must look like KEY.PATH=VALUE"):
        load_spec(path, ["base.x"])
