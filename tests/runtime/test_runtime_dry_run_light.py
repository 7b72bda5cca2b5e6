"""A dry run reads and validates every cell without JAX or pandas, in flat memory (issues 9, 10):
`featlearn sweep SPEC --dry-run` on a 10^6-cell grid says how many cells it would run and peaks
under 200 MB of resident memory."""

import subprocess
import sys
import textwrap

import pytest

#: A fit sweep of kernel ridge and layer-wise cells: d x n x noise points, every cell validated
#: (learner config, memory budget) on the way.
SPEC = """name = "big"
experiment = "fit"
[base]
target = "single-he2"
width = 8
[grid]
d = {{ range = [1, {d_stop}, 1] }}
n = {{ range = [100, 200, 1] }}
noise = {{ linspace = [0.0, 1.0], num = {num} }}
[cases.net]
learner = "layerwise"
[cases.kernel]
learner = "kernel-ridge"
options = {{ solver = "nystrom", centers = 50 }}
"""

HEAVY = ("jax", "pandas", "featlearn.learners", "featlearn.experiments._fit")


def _loaded_after(code: str) -> list[str]:
    """The modules of HEAVY loaded by a fresh interpreter after running ``code``."""
    probe = code + f"\nimport sys\nprint([m for m in {HEAVY!r} if m in sys.modules])\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )
    return eval(out.stdout.strip().splitlines()[-1])


def test_importing_the_runtime_and_the_configs_loads_neither_jax_nor_pandas():
    code = "import featlearn.runtime, featlearn.experiments, featlearn._configs, featlearn.cli"
    assert _loaded_after(code) == []


def test_a_dry_run_loads_neither_jax_nor_pandas(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC.format(d_stop=2, num=2))
    code = textwrap.dedent(f"""
        from featlearn.cli import main
        try:
            main(["sweep", {str(spec)!r}, "--dry-run", "--store", {str(tmp_path / "x.db")!r}])
        except SystemExit as exc:
            assert not exc.code, exc.code
    """)
    assert _loaded_after(code) == []


#: Runs the command in argv and prints its stdout, then the peak resident KiB of that child alone
#: (a fresh parent: RUSAGE_CHILDREN holds no other child's peak).
MEASURE = """
import resource, subprocess, sys
out = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(out.stdout)
sys.stderr.write(out.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(out.returncode)
"""


def _dry_run_peak(spec_text: str, tmp_path) -> tuple[str, float]:
    """(the summary line, peak resident MB) of `featlearn sweep SPEC --dry-run` in a child."""
    spec = tmp_path / "big.toml"
    spec.write_text(spec_text)
    cmd = [sys.executable, "-m", "featlearn.cli", "sweep", str(spec), "--dry-run"]
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, timeout=3600,
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    *_, summary, peak_kib = out.stdout.strip().splitlines()
    return summary, int(peak_kib) / 1024  # ru_maxrss is in KiB on Linux


def test_a_dry_run_of_20000_cells_counts_them_in_flat_memory(tmp_path):
    last, peak_mb = _dry_run_peak(SPEC.format(d_stop=2, num=100), tmp_path)
    assert last == "20000 cells, 20000 to run"
    assert peak_mb < 200


@pytest.mark.slow
def test_a_dry_run_of_a_million_cells_stays_under_200_mb(tmp_path):
    last, peak_mb = _dry_run_peak(
        SPEC.format(d_stop=51, num=100), tmp_path
    )  # 2 cases x 50 x 100 x 100
    assert last == "1000000 cells, 1000000 to run"
    assert peak_mb < 200
