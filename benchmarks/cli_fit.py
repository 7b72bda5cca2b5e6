"""Benchmark: whole-process time of one `featlearn fit` (issue 13), cold and warm compilation cache.

Runs the issue's command (`fit --learner layerwise --target single-he2 --d 100 --n 10000
--width 1000 --noise 1`) as a fresh process, alternating three settings, ``--runs`` times each:
``off`` (no persistent cache: every program compiled, the baseline), ``cold`` (an empty cache
folder each time: compiled and written) and ``warm`` (a cache filled beforehand). Prints medians,
the ratios against ``off``, the fit's own time and the excess risk per seed.

Usage: python benchmarks/cli_fit.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = [
    "--learner", "layerwise", "--target", "single-he2", "--d", "100", "--n", "10000",
    "--width", "1000", "--noise", "1",
]  # fmt: skip


def run_fit(args: list[str], cache: str, env: dict[str, str] | None = None) -> tuple[float, dict]:
    """``featlearn fit <args> --json`` as a fresh process with compilation cache ``cache``:
    (whole-process seconds, the printed record). Also used by ``benchmarks/threads.py``."""
    cmd = [sys.executable, "-m", "featlearn.cli", "--cache-dir", cache, "fit", *args, "--json"]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    return time.perf_counter() - start, json.loads(out)


def _run(cache: str, seed: int) -> tuple[float, dict]:
    return run_fit([*COMMAND, "--seed", str(seed)], cache)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    work = Path(tempfile.mkdtemp(prefix="featlearn-cli-fit-"))
    warm, cold = work / "warm", work / "cold"
    _run(str(warm), 0)  # fill the warm cache
    times: dict[str, list[float]] = {"off": [], "cold": [], "warm": []}
    fit: dict[str, list[float]] = {"off": [], "cold": [], "warm": []}
    risks = []
    for i in range(runs):
        shutil.rmtree(cold, ignore_errors=True)
        for name, cache in (("off", "off"), ("cold", str(cold)), ("warm", str(warm))):
            seconds, record = _run(cache, i)
            times[name].append(seconds)
            fit[name].append(record["seconds"])
        risks.append(record["excess_risk"])
    shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(times["off"])
    for name in ("off", "cold", "warm"):
        med = statistics.median(times[name])
        print(
            f"{name:5s} whole process median {med:6.2f} s  ({med / base:.2f}x off)  "
            f"fit alone median {statistics.median(fit[name]):5.2f} s"
        )
    print("excess risk, seeds 0..", runs - 1, [round(r, 4) for r in risks],
          "median", round(statistics.median(risks), 4))  # fmt: skip


if __name__ == "__main__":
    main()
