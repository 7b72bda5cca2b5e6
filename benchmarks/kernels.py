"""Kernel ridge benchmarks (issues 3, 13): featlearn against scikit-learn, Nyström and pcg
against exact.

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
  kernel    kernel_matrix of the NTK at n = 2e4 (--kernel-n), d = 32, float64 and float32: time,
            now against the code before the pcg speed-up (same process).
  pcg-passes  the pieces of a pcg solve at n = --pcg-n: building K's panels, one float32 and one
            float64 product, the RPCholesky preconditioner, one preconditioner application.
  pcg-sklearn  the pcg solver vs KernelRidge(kernel="precomputed") on the same NTK matrix,
            n = 2e4 (--pcg-n), d = 32, dls-r2p3 labels: one lam (nlam = 1e-3 mean k(x,x)), and
            lam chosen from a 10-value grid on 2000 held-out points (sklearn refits per lam);
            time of kernel + fit + predict on 2000 test points each, max relative prediction gap.
  crossover learner fit time, exact vs pcg, at n = 1024, 2048, 4096 (d = 32, 10 lams).
  pcg-fits  the learner's pcg NTK fits of the main experiment: (d, n) = (32, 8192) and
            (64, 32768), n_val = 4000, 3 lams, default max_bytes (4 GiB): time, peak RSS, risk.

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


def _previous_symmetric(kernel, X):
    """kernel_matrix(X) as it was at the start of the pcg speed-up (commit 245d904): tiles sliced
    from a JAX array (one compile per offset), the diagonal op by op, mirrors by NumPy's strided
    transposed copy. Kept here only as the 'previous' side of --parts kernel."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from featlearn.kernels._blocks import _block

    with jax.enable_x64(True):  # as featlearn's own functions run
        return _previous_tiles(_block, kernel, jnp.asarray(X), np, jnp)


def _previous_tiles(_block, kernel, X, np, jnp):
    n, count = X.shape[0], -(-X.shape[0] // min(2048, X.shape[0]))
    b = -(-n // count)
    Xp = jnp.pad(X, ((0, count * b - n), (0, 0)))
    out = np.empty((n, n), dtype=X.dtype)
    for i in range(count):
        lo_i, hi_i = i * b, min((i + 1) * b, n)
        for j in range(i, count):
            lo_j, hi_j = j * b, min((j + 1) * b, n)
            tile = np.asarray(_block(kernel, Xp[lo_i : lo_i + b], Xp[lo_j : lo_j + b]))
            out[lo_i:hi_i, lo_j:hi_j] = tile[: hi_i - lo_i, : hi_j - lo_j]
            if j > i:
                out[lo_j:hi_j, lo_i:hi_i] = tile[: hi_i - lo_i, : hi_j - lo_j].T
    out[np.diag_indices(n)] = np.asarray(kernel.diag(X))
    return out


def part_kernel(n: int, runs: int) -> dict:
    """kernel_matrix(ntk, X) now against the code at the start of this change
    (``_previous_symmetric``), same process, same inputs, float64 and float32. Each side's first
    call at this n (its compilations) is timed apart from the median of the next ``runs``."""
    import numpy as np

    import featlearn  # noqa: F401
    from featlearn.kernels import kernel_matrix, make_kernel

    X = np.random.default_rng(0).standard_normal((n, D))
    kernel = make_kernel("ntk")
    cases = {"now": lambda A: kernel_matrix(kernel, A), "previous": lambda A: _previous_symmetric(kernel, A)}  # fmt: skip
    out = {"part": "kernel", "n": n, "runs": runs}
    for dtype in ("float64", "float32"):
        Xd = X.astype(dtype)
        for name, build in cases.items():
            times = []
            for _ in range(runs + 1):
                t = time.perf_counter()
                K = build(Xd)
                times.append(time.perf_counter() - t)
            out[f"{dtype}_{name}_first_s"] = times[0]
            out[f"{dtype}_{name}_s"] = statistics.median(times[1:])
            out.setdefault(f"{dtype}_K", []).append(K[:2000, :2000].astype(np.float64))
            del K  # one n x n matrix at a time
        now, previous = out.pop(f"{dtype}_K")
        out[f"{dtype}_max_abs_diff"] = float(np.abs(now - previous).max())
        out[f"{dtype}_speedup"] = out[f"{dtype}_previous_s"] / out[f"{dtype}_now_s"]
    return out


def part_pcg_passes(n: int, runs: int) -> dict:
    """The pieces of a pcg solve at n (NTK, d = 32): building K's panels (float64 kernel, split
    into float32 + int16), one float32 product (L = 1 and 10 columns), one float64 product, the
    RPCholesky preconditioner (adaptive rank) and one preconditioner application; medians."""
    import jax
    import numpy as np

    import featlearn  # noqa: F401
    from featlearn.kernels import make_kernel
    from featlearn.solvers import KernelTiles
    from featlearn.solvers._pcg import _factor

    (X, _), _, _ = _pcg_problem(n)
    kernel = make_kernel("ntk")
    KernelTiles(kernel, X[:2048])  # compile the tile functions (same tile shape at n = 2e4)
    out = {"part": "pcg-passes", "n": n, "runs": runs}

    def timed(name, f):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            result = f()
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times)
        return result

    op = timed("build_s", lambda: KernelTiles(kernel, X))
    rng = np.random.default_rng(0)
    V1, V10 = rng.standard_normal((n, 1)), rng.standard_normal((n, 10))
    timed("float32_pass_L1_s", lambda: op.matvec(V1, accurate=False))
    timed("float32_pass_L10_s", lambda: op.matvec(V10, accurate=False))
    timed("float64_pass_L1_s", lambda: op.matvec(V1, accurate=True))
    mu = np.array([1e-3])  # named at construction, as pcg_ridge names its lams' shifts
    pre, rank = timed("preconditioner_s", lambda: _factor(kernel, X, None, jax.random.key(0), mu))
    timed("precond_apply_L1_s", lambda: pre(V1, mu))
    out["rank"], out["precond_float32"] = rank, pre.single
    # hi is 4 of the 6 bytes per stored entry
    out["float32_pass_GBps"] = op.nbytes * 2 / 3 / out["float32_pass_L1_s"] / 1e9
    out["peak_rss_gb"] = _peak_rss_gb()
    return out


def _pcg_problem(n: int):
    import jax
    import numpy as np

    import featlearn  # noqa: F401
    from featlearn.targets import make_target

    target = make_target("dls-r2p3", D, key=jax.random.key(0))
    sets = [target.sample(m, key=jax.random.key(i + 1), dtype="float64") for i, m in
            enumerate((n, 2000, 2000))]  # fmt: skip
    return [tuple(np.asarray(a) for a in xy) for xy in sets]


def part_pcg_sklearn(n: int, runs: int, sk_grid_runs: int) -> dict:
    import jax
    import numpy as np
    from sklearn.kernel_ridge import KernelRidge

    import featlearn  # noqa: F401
    from featlearn.kernels import kernel_apply, kernel_matrix, make_kernel
    from featlearn.solvers import best_on_validation, pcg_ridge

    (X, y), (Xv, yv), (Xt, _) = _pcg_problem(n)
    kernel = make_kernel("ntk")
    mean_diag = float(np.mean(np.asarray(kernel.diag(X))))
    grid = np.geomspace(1e-8, 10, 10) * mean_diag / n
    one = np.array([1e-3 * mean_diag / n])
    y_mean = float(np.mean(y))

    stats = {}

    def ours(lambdas):
        sol = pcg_ridge(kernel, X, y, lambdas, key=jax.random.key(0))
        stats.update(rank=sol.rank, cg_steps=sol.iterations, refinements=sol.refinements)
        best = 0
        if len(lambdas) > 1:
            pv = kernel_apply(kernel, Xv, X, sol.coefs) + y_mean
            best = best_on_validation(pv, yv, step="bench")[0]
        return kernel_apply(kernel, Xt, X, sol.coefs[:, best]) + y_mean, lambdas[best]

    def theirs(lambdas, timings):
        t = time.perf_counter()
        K = kernel_matrix(kernel, X)
        Kt = kernel_matrix(kernel, Xt, X)
        Kv = kernel_matrix(kernel, Xv, X) if len(lambdas) > 1 else None
        timings["kernels_s"] = time.perf_counter() - t
        mse = []
        for lam in lambdas if len(lambdas) > 1 else []:  # sklearn: refit per lam, keep the best
            sk = KernelRidge(alpha=n * lam, kernel="precomputed").fit(K, y - y_mean)
            mse.append(np.mean((sk.predict(Kv) + y_mean - yv) ** 2))
        best = lambdas[int(np.argmin(mse))] if mse else lambdas[0]
        t = time.perf_counter()
        sk = KernelRidge(alpha=n * best, kernel="precomputed").fit(K, y - y_mean)
        pred = sk.predict(Kt) + y_mean
        timings["one_fit_s"] = time.perf_counter() - t
        return pred, best

    ours(one * 10)  # compile outside the timing (a different lam, same shapes)
    out = {"part": "pcg-sklearn", "n": n, "runs": runs, "sklearn_grid_runs": sk_grid_runs}
    for name, lambdas, sk_runs in (("one_lambda", one, runs), ("grid10", grid, sk_grid_runs)):
        t_ours, t_sk, parts = [], [], {}
        for i in range(runs):
            t = time.perf_counter()
            p_ours, lam_ours = ours(lambdas)
            t_ours.append(time.perf_counter() - t)
            if i < sk_runs:
                t = time.perf_counter()
                p_sk, best = theirs(lambdas, parts)
                t_sk.append(time.perf_counter() - t)
        if not t_sk:  # sklearn's grid not run: kernels + (L + 1) single fits, each timed above
            one_fit = out["one_lambda"]["sklearn_one_fit_s"]
            t_sk = [out["one_lambda"]["sklearn_kernels_s"] * 1.1 + (len(lambdas) + 1) * one_fit]
            p_sk, _ = theirs(np.array([lam_ours]), parts)  # predictions at our lam, to compare
        row = {
            "featlearn_s": statistics.median(t_ours),
            "sklearn_s": statistics.median(t_sk),
            "sklearn_measured": bool(sk_runs),
            "speedup": statistics.median(t_sk) / statistics.median(t_ours),
        }
        row["max_rel_pred_diff"] = float(np.abs(p_ours - p_sk).max() / np.abs(p_sk).max())
        row["sklearn_kernels_s"] = parts["kernels_s"]
        row["sklearn_one_fit_s"] = parts["one_fit_s"]
        row["lambda_ours"] = float(lam_ours)
        out[name] = {**row, **stats}
    out["peak_rss_gb"] = _peak_rss_gb()
    return out


def _learner_fit(d: int, n: int, solver: str, n_val: int, n_lambdas: int, **options) -> dict:

    import featlearn  # noqa: F401
    from featlearn.experiments._fit import fit_keys
    from featlearn.learners import make_learner
    from featlearn.metrics import excess_risk
    from featlearn.targets import make_target

    keys = fit_keys(0)
    target = make_target("dls-r2p3", d, key=keys["target"])
    learner = make_learner(
        "kernel-ridge", kernel="ntk", solver=solver, n_lambdas=n_lambdas, **options
    )
    train = target.stream(n, key=keys["train"], dtype="float64")
    validation = target.sample(n_val, key=keys["val"], dtype="float64")
    t = time.perf_counter()
    learner.fit_stream(train, key=keys["learner"], validation=validation)
    fit_s = time.perf_counter() - t
    risk = excess_risk(learner.predict, target, key=keys["test"], n_test=4000, dtype="float64")
    diag = learner.diagnostics()
    return {
        "d": d,
        "n": n,
        "solver": diag["solver"],
        "fit_s": fit_s,
        "relative_risk": risk.relative_risk,
        "lambda": diag["lambda"],
        "rank": diag.get("rank"),
        "cg_iterations": diag.get("cg_iterations"),
        "refinements": diag.get("refinements"),
        "kernel_cached": diag.get("kernel_cached"),
        "peak_rss_gb": _peak_rss_gb(),
    }


def part_crossover(ns: list[int]) -> dict:
    rows = []
    for n in ns:
        for solver in ("exact", "pcg"):
            _learner_fit(D, 256, solver, 256, 10)  # compile outside the timing
            rows.append(_learner_fit(D, n, solver, 1000, 10))
    return {"part": "crossover", "rows": rows}


def part_pcg_fits(sizes: list[tuple[int, int]]) -> dict:
    _learner_fit(D, 256, "pcg", 256, 3)
    return {"part": "pcg-fits", "rows": [_learner_fit(d, n, "pcg", 4000, 3) for d, n in sizes]}


def _child(args) -> None:
    grid = {"lambda_min": 1e-8, "lambda_max": 1e-2, "n_lambdas": 4}
    if args.child == "sklearn":
        out = part_sklearn(args.runs)
    elif args.child == "compare":
        out = part_compare(args.compare_n, args.centers, grid)
    elif args.child == "compare-nystrom":  # the Nyström side only (the exact risk is deterministic)
        out = {"part": "compare-nystrom", **_fit(args.compare_n, "nystrom", args.centers, **grid)}
    elif args.child == "kernel":
        out = part_kernel(args.kernel_n, args.runs)
    elif args.child == "pcg-passes":
        out = part_pcg_passes(args.pcg_n, args.runs)
    elif args.child == "pcg-sklearn":
        out = part_pcg_sklearn(args.pcg_n, args.runs, args.sklearn_grid_runs)
    elif args.child == "crossover":
        out = part_crossover([1024, 2048, 4096])
    elif args.child == "pcg-fits":
        sizes = [tuple(int(v) for v in dn.split(":")) for dn in args.fits.split(",")]
        out = part_pcg_fits(sizes)
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
    ap.add_argument("--kernel-n", type=int, default=20_000)
    ap.add_argument("--pcg-n", type=int, default=20_000)
    ap.add_argument("--fits", default="32:8192,64:32768", help="pcg-fits sizes d:n,...")
    ap.add_argument(
        "--sklearn-grid-runs",
        type=int,
        default=1,
        help="sklearn's 11 fits at n = 2e4 are slow; 0 = estimate them from the one-lam fit",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(args)
    parts = [p for p in args.parts.split(",") if p] + (["million"] if args.million else [])
    for part in parts:
        cmd = [sys.executable, __file__, "--child", part, "--runs", str(args.runs)]
        cmd += ["--centers", str(args.centers), "--compare-n", str(args.compare_n)]
        cmd += ["--million-cg", str(args.million_cg), "--kernel-n", str(args.kernel_n)]
        cmd += ["--pcg-n", str(args.pcg_n), "--sklearn-grid-runs", str(args.sklearn_grid_runs)]
        cmd += ["--fits", args.fits]
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
