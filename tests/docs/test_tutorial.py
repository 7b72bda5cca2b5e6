"""docs/tutorial.md runs as written: its code blocks are executed in order in an empty folder, and
each number its prose states is checked against what the code computed.

Blocks: ```python blocks run in one shared namespace; ```sh blocks run line by line in bash, with
this interpreter's scripts folder first on PATH (so ``featlearn`` is this checkout's); ```toml blocks
whose first line is ``# file: NAME`` are written to NAME. Other blocks are prose.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def blocks(text: str) -> list[tuple[str, str]]:
    """The fenced code blocks of a markdown text, as (language, code), in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def run_blocks(text: str, folder: Path) -> dict:
    """Execute the tutorial's blocks in ``folder``; return the Python namespace they built."""
    namespace: dict = {"__name__": "__tutorial__"}
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for i, (lang, code) in enumerate(blocks(text)):
        if lang == "python":
            exec(compile(code, f"{TUTORIAL.name}, block {i}", "exec"), namespace)
        elif lang == "sh":
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", code], cwd=folder, env=env,
                capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            assert done.returncode == 0, f"block {i} failed:\n{code}\n{done.stderr[-3000:]}"
            namespace.setdefault("_sh_output", []).append(done.stdout)
        elif lang == "toml" and code.startswith("# file: "):
            name = code.splitlines()[0].removeprefix("# file: ").strip()
            (folder / name).write_text(code)
    return namespace


def _censored(ns, learner):
    th = ns["th"]
    return set(th[th.learner == learner]["censored"])


def _n_star_over_d2(ns, learner):
    th = ns["th"]
    sel = th[th.learner == learner]
    return (sel["n_star"] / sel["d"] ** 2).tolist()


def _largest_budget_medians(ns, learner):
    df = ns["df"]
    sel = df[(df.learner == learner) & (df.n == 16 * df.d**2)]
    return sel.groupby("d")["relative_risk"].median().tolist()


# Each statement of the prose, and how to check it on the namespace the code left behind.
CLAIMS = [
    ("relative risk below 0.1**", lambda ns: ns["net_risk"] < 0.1),
    ("**above 0.6**", lambda ns: ns["net_alignment"] > 0.6),
    ("**relative risk above 0.3**", lambda ns: ns["rf_risk"] > 0.3),
    ("identical predictions after load", lambda ns: ns["same"] is True),
    ("24 cells", lambda ns: len(ns["df"]) == 24 and set(ns["df"]["status"]) == {"ok"}),
    ("**median relative risk is below 0.05**",
     lambda ns: len(_largest_budget_medians(ns, "layerwise")) == 2
     and max(_largest_budget_medians(ns, "layerwise")) < 0.05),
    ("**n\\* ≤ 4 d²**", lambda ns: _censored(ns, "layerwise") == {""}
     and max(_n_star_over_d2(ns, "layerwise")) <= 4),
    ("**never reach 0.1**", lambda ns: _censored(ns, "random-features") == {"right"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory) -> tuple[str, dict]:
    folder = tmp_path_factory.mktemp("tutorial")
    text = TUTORIAL.read_text(encoding="utf-8")
    old, backend = Path.cwd(), os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"  # the tutorial uses pyplot; no display here
    os.chdir(folder)
    try:
        namespace = run_blocks(text, folder)
    finally:
        os.chdir(old)
        if backend is None:
            os.environ.pop("MPLBACKEND")
        else:
            os.environ["MPLBACKEND"] = backend
    import matplotlib.pyplot as plt

    plt.close("all")
    return text, {**namespace, "folder": folder}


def test_the_tutorial_has_blocks_of_every_kind():
    langs = [lang for lang, _ in blocks(TUTORIAL.read_text(encoding="utf-8"))]
    assert langs.count("python") >= 5 and langs.count("sh") >= 2 and "toml" in langs


@pytest.mark.parametrize("statement, check", CLAIMS, ids=[c[0] for c in CLAIMS])
def test_what_the_text_says_is_what_the_code_computes(tutorial, statement, check):
    text, namespace = tutorial
    assert statement in text, f"the tutorial no longer says {statement!r}: update CLAIMS"
    assert check(namespace), f"the tutorial says {statement!r}, the code disagrees"


def test_the_files_it_promises_exist(tutorial):
    _, ns = tutorial
    folder = ns["folder"]
    for name in ("my-network/learner.json", "my-network/arrays.npz", "report/index.html",
                 "report/risk_vs_n.png", "report/risk_vs_n.pdf", "risk_vs_n.pdf"):  # fmt: skip
        assert (folder / name).is_file(), name
    # the dry run lists the 24 cells as already stored
    assert "24" in ns["_sh_output"][0]


def test_the_block_runner_fails_on_a_failing_block(tmp_path):
    with pytest.raises(AssertionError, match="block 0 failed"):
        run_blocks("```sh\nfalse\n```\n", tmp_path)
    with pytest.raises(ZeroDivisionError):
        run_blocks("```python\n1 / 0\n```\n", tmp_path)
