"""docs/api.md is generated from the docstrings by scripts/gen_api.py and is up to date."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _gen_api():
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "scripts" / "gen_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_api = _gen_api()


def test_every_public_name_has_an_entry_with_its_docstring():
    text = gen_api.generate()
    modules = gen_api.public_modules()
    names = {m.__name__ for m in modules}
    assert {"featlearn.learners", "featlearn.runtime", "featlearn.plots"} <= names
    assert "featlearn.cli" not in names
    for module in modules:
        for name in module.__all__:
            assert f"### `{module.__name__}.{name}`\n" in text, (module.__name__, name)
            doc = inspect.getdoc(getattr(module, name))
            if doc and callable(getattr(module, name)):
                assert doc in text, (module.__name__, name)
    assert " at 0x" not in text  # nothing that changes from run to run


def test_the_committed_reference_is_up_to_date():
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == gen_api.generate(), (
        "docs/api.md is out of date: run python scripts/gen_api.py and commit the result"
    )
