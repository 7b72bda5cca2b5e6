"""Benchmark: how many BLAS threads an in-process fit should use (issue 13, item 4).

Runs ``featlearn fit`` as a fresh process for a few workloads that stress different parts of the
machine, with OpenBLAS limited to each thread count in turn (``OPENBLAS_NUM_THREADS`` and its
kin; XLA's own CPU threads are left as they are), alternating the settings, ``--runs`` times each,
and prints the median of the fit's own time (the record's ``seconds``: no start-up, no
compilation differences, since every run compiles the same programs from the same warm cache)
and the ratio against one thread. Run it on an otherwise idle machine: a loaded one measures the
load (oversubscription is what made threads slow before).

Usage: python benchmarks/threads.py [--runs 3] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

from cli_fit import run_fit  # the same fresh-process fit (benchmarks/ is on sys.path when run)

WORKLOADS = {
    "layerwise d=100 n=1e4 m=1000": [
        "--learner", "layerwise", "--target", "single-he2", "--d", "100", "--n", "10000",
        "--width", "1000", "--noise", "1",
    ],
    "kernel-ridge exact d=16 n=4096": [
        "--learner", "kernel-ridge", "--target", "dls-r2p3", "--d", "16", "--n", "4096",
        "-o", "solver=exact", "--n-val", "2000", "--n-test", "2000",
    ],
    "kernel-ridge pcg d=32 n=16384": [
        "--learner", "kernel-ridge", "--target", "dls-r2p3", "--d", "32", "--n", "16384",
        "-o", "solver=pcg", "--n-val", "2000", "--n-test", "2000",
    ],
}  # fmt: skip


def _fit(args: list[str], threads: int, cache: str) -> float:
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return float(run_fit(args, cache, env)[1]["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    cache = tempfile.mkdtemp(prefix="featlearn-threads-")
    print(f"{'workload':34s}" + "".join(f"{t:>4d} thr (s)" for t in counts) + "  ratios vs 1")
    for name, fit_args in WORKLOADS.items():
        _fit(fit_args, counts[0], cache)  # fill the compilation cache
        times: dict[int, list[float]] = {t: [] for t in counts}
        for _ in range(args.runs):
            for t in counts:
                times[t].append(_fit(fit_args, t, cache))
        med = {t: statistics.median(v) for t, v in times.items()}
        ratios = " ".join(f"{med[counts[0]] / med[t]:.2f}x" for t in counts)
        print(f"{name:34s}" + "".join(f"{med[t]:12.2f}" for t in counts) + "  " + ratios)


if __name__ == "__main__":
    main()
