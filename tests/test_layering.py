"""Architecture checks: one construction path for every learner, and no module reaching into
another package's private names (DESIGN section 10)."""

import ast
from pathlib import Path

import jax
import numpy as np
import pytest

from featlearn.learners import LEARNERS, build_learner, make_learner

SRC = Path(__file__).resolve().parents[1] / "src" / "featlearn"


def _private_imports(path: Path) -> list[str]:
    """`from featlearn.pkg._mod import x` or `from featlearn.pkg import _x` with pkg != the
    importing module's own package."""
    own = path.relative_to(SRC).parts[0] if len(path.relative_to(SRC).parts) > 1 else None
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("featlearn."):
            continue
        parts = node.module.split(".")[1:]
        if parts[0] == own or parts[0].startswith("_"):  # its own package; top-level helpers
            continue
        names = [a.name for a in node.names]
        if any(p.startswith("_") for p in parts[1:]) or any(n.startswith("_") for n in names):
            found.append(f"{path.relative_to(SRC)}: from {node.module} import {', '.join(names)}")
    return found


def test_the_checker_finds_a_private_import(tmp_path, monkeypatch):
    pkg = tmp_path / "featlearn" / "experiments"
    pkg.mkdir(parents=True)
    bad = pkg / "_x.py"
    bad.write_text(
        "from featlearn.learners._steps import linear_part\nfrom featlearn.targets import make_target\n"
    )
    monkeypatch.setattr(__import__(__name__), "SRC", tmp_path / "featlearn")
    assert _private_imports(bad) == [
        "experiments/_x.py: from featlearn.learners._steps import linear_part"
    ]


@pytest.mark.parametrize("package", ["experiments", "runtime", "plots", "learners", "metrics"])
def test_no_module_imports_private_names_of_another_package(package):
    found = [hit for path in sorted((SRC / package).glob("*.py")) for hit in _private_imports(path)]
    assert found == []


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_every_learner_is_built_by_the_one_path(name):
    cls = LEARNERS[name]
    learner = build_learner(name, {}, width=6)
    assert type(learner) is cls and type(make_learner(name)) is cls
    has_width = "width" in learner.get_params()
    assert has_width == cls.is_network
    if cls.is_network:
        assert learner.config.width == 6
        assert build_learner(name, {"width": 8}, width=6).config.width == 8  # options win
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = (X[:, 0] ** 2).astype(np.float32)
    X, y = (v.astype(np.dtype(learner.data_dtype)) for v in (X, y))
    learner.fit(X, y, key=jax.random.key(0))
    assert hasattr(learner, "W_") == cls.is_network  # a fitted first layer
