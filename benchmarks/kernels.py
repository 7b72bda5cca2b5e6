"""Kernel ridge benchmarks (issue 3): featlearn against scikit-learn, Nyström against exact.

Parts (each runs in its own subprocess, so its peak RSS is its own):

  sklearn   exact kernel ridge vs sklearn.kernel_ridge.KernelRidge on the same kernel
            ((1 + x.x'/d)^3, i.e. sklearn's poly with gamma = 1/d, coef0 = 1), one fixed lambda,
            n = 10^4, d = 32, float64: max |pred - pred_sk| / max |pred_sk| and the speed ratio
            (median of --runs runs; fit + predict on 2000 test points for both).
  compare   dls-r2p3, d = 32, NTK: relative risk of the exact solve and of Nyström (M centres)
            at n = --compare-n (the largest n whose exact solve fits the 8 GB budget), same
            lambda grid, lambda chosen on 10^4 fresh validation points.
  compare-nystrom  only the Nyström side of ``compare`` (e.g. to try other --centers).
  nystrom   Nyström NTK kernel ridge at n = 10^5, d = 32: fit time, peak RSS, relative risk.
  million   the same at n = 10^6 (long on 2 cores: only with --million).

Usage: python benchmarks/kernels.py [--parts sklearn,compare,nystrom] [--runs 3] [--million]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

D = 32
BUDGET = 6 * 2**30  # the learner's max_bytes: matrices + kept K_nM; leaves room under 8 GB RSS


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def part_sklearn(runs: int) -> dict:
    import numpy as np
    from sklearn.kernel_ridge import KernelRidge

    import featlearn  # noqa: F401
    from featlearn.kernels import kernel_apply, kernel_matrix, make_kernel
    from featlearn.solvers import ridge_solve_mixed

    n, n_test, lam_rel = 10_000, 2000, 1e-3
    rng = np.random.default_rng(0)
    X, Xt = rng.standard_normal((n, D)), rng.standard_normal((n_test, D))
    y = X[:, 0] * X[:, 1] + (X[:, 2] ** 2 - 1) / np.sqrt(2) + 0.1 * rng.standard_normal(n)
    kernel = make_kernel("poly", q=3)

    def ours():
        K = kernel_matrix(kernel, X)
        alpha = ridge_solve_mixed(K, y, lam, scale=n)
        return kernel_apply(kernel, Xt, X, alpha)

    def theirs():
        sk = KernelRidge(alpha=n * lam, kernel="poly", degree=3, gamma=1 / D, coef0=1)
        return sk.fit(X, y).predict(Xt)

    lam = lam_rel * float(np.mean(np.asarray(kernel.diag(X)))) / n
    t_ours, t_sk = [], []
    for _ in range(runs):
        t = time.perf_counter()
        p_ours = ours()
        t_ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        p_sk = theirs()
        t_sk.append(time.perf_counter() - t)
    diff = float(np.abs(p_ours - p_sk).max() / np.abs(p_sk).max())
    return {
        "part": "sklearn",
        "n": n,
        "max_rel_pred_diff": diff,
        "featlearn_s": statistics.median(t_ours),
        "sklearn_s": statistics.median(t_sk),
        "speedup": statistics.median(t_sk) / statistics.median(t_ours),
        "runs": runs,
        "peak_rss_gb": _peak_rss_gb(),
    }


def _fit(n: int, solver: str, centers: int | None, **options) -> dict:
    """run_fit's steps, keeping the learner's diagnostics (CG iterations, whether K_nM was kept)."""
    import jax

    import featlearn  # noqa: F401
    from featlearn.experiments._fit import fit_keys
    from featlearn.learners import make_learner
    from featlearn.metrics import excess_risk
    from featlearn.targets import make_target

    opts = {"kernel": "ntk", "solver": solver, "max_bytes": BUDGET, **options}
    if centers is not None:
        opts["centers"] = centers
    keys = fit_keys(0)
    target = make_target("dls-r2p3", D, key=keys["target"])
    learner = make_learner("kernel-ridge", **opts)
    train = target.stream(n, key=keys["train"], dtype="float64")
    validation = target.sample(10_000, key=keys["val"], dtype="float64")
    t = time.perf_counter()
    learner.fit_stream(train, key=keys["learner"], validation=validation)
    fit_s = time.perf_counter() - t
    risk = excess_risk(learner.predict, target, key=keys["test"], n_test=10_000, dtype="float64")
    diag = learner.diagnostics()
    jax.clear_caches()
    return {
        "n": n,
        "solver": diag["solver"],
        "centers": diag["centers"],
        "relative_risk": risk.relative_risk,
        "risk_stderr": risk.stderr / target.moments.variance,
        "lambda": diag["lambda"],
        "cg_iterations": diag.get("cg_iterations"),
        "kernel_cached": diag.get("kernel_cached"),
        "fit_s": fit_s,
        "peak_rss_gb": _peak_rss_gb(),
    }


def part_compare(n: int, centers: int, grid: dict) -> dict:
    exact = _fit(n, "exact", None, **grid)
    nys = _fit(n, "nystrom", centers, **grid)
    ratio = nys["relative_risk"] / exact["relative_risk"]
    return {"part": "compare", "exact": exact, "nystrom": nys, "risk_ratio": ratio}


def _child(args) -> None:
    grid = {"lambda_min": 1e-8, "lambda_max": 1e-2, "n_lambdas": 4}
    if args.child == "sklearn":
        out = part_sklearn(args.runs)
    elif args.child == "compare":
        out = part_compare(args.compare_n, args.centers, grid)
    elif args.child == "compare-nystrom":  # the Nyström side only (the exact risk is deterministic)
        out = {"part": "compare-nystrom", **_fit(args.compare_n, "nystrom", args.centers, **grid)}
    elif args.child == "nystrom":
        out = {"part": "nystrom", **_fit(100_000, "nystrom", args.centers, **grid)}
    else:  # 10^6: K_nM cannot be kept, every CG step recomputes it; fewer steps
        fit = _fit(1_000_000, "nystrom", args.centers, cg_max_iter=args.million_cg, **grid)
        out = {"part": "million", **fit}
    print("RESULT " + json.dumps(out), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--parts", default="sklearn,compare,nystrom")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--centers", type=int, default=4096)
    ap.add_argument("--compare-n", type=int, default=19_000)
    ap.add_argument("--million", action="store_true", help="also run n = 10^6 (long)")
    ap.add_argument("--million-cg", type=int, default=20, help="CG steps cap at n = 10^6")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args)
    parts = [p for p in args.parts.split(",") if p] + (["million"] if args.million else [])
    for part in parts:
        cmd = [sys.executable, __file__, "--child", part, "--runs", str(args.runs)]
        cmd += ["--centers", str(args.centers), "--compare-n", str(args.compare_n)]
        cmd += ["--million-cg", str(args.million_cg)]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]  # noqa: E741
        if proc.returncode or not lines:
            print(f"{part}: failed (exit {proc.returncode})\n{proc.stderr[-2000:]}", flush=True)
            continue
        res = json.loads(lines[-1][7:])
        res["wall_s"] = time.perf_counter() - t
        print(json.dumps(res, indent=1), flush=True)


if __name__ == "__main__":
    main()
