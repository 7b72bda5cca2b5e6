"""Benchmark of the layer-wise learner (issue 2).

1. Throughput of the fit's two dominant phases, in GFLOP/s, against plain JAX matmuls of the same
   shapes timed in the same run:
     gradient phase : per block, Z = X W^T (rows x d x m/2) and G^T += (X * r)^T sigma'(Z)
     gram phase     : per block, Phi = sigma(X W^T + b) (rows x d x m) and A += Phi^T Phi (m x rows x m)
   Both phases run on pre-drawn blocks (so data generation is not counted against them); the
   baseline is the same GEMMs, jitted, on the same arrays. Medians of several repeats.
2. Peak resident memory of a whole streamed fit (data drawn block by block) at n = 10^6, d = 256,
   m = 2048, measured in a fresh subprocess (ru_maxrss), with its wall time.

Usage: python benchmarks/layerwise.py [--quick] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp

import featlearn  # noqa: F401
from featlearn.learners._steps import _grad_block, _head_gram_block
from featlearn.networks import get_activation, init_symmetric


def _median_time(fn, repeats):
    fn()  # compile and warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def phases(n_blocks: int, rows: int, d: int, m: int, repeats: int) -> dict:
    act = get_activation("relu")
    key = jax.random.key(0)
    blocks = [
        (
            jax.random.normal(jax.random.fold_in(key, i), (rows, d), jnp.float32),
            jax.random.normal(jax.random.fold_in(key, 10_000 + i), (rows,), jnp.float32),
        )
        for i in range(n_blocks)
    ]
    p = init_symmetric(m, d, key=jax.random.key(1))
    half = m // 2
    W, b, a = p.W[:half], p.b[:half], p.a[:half]
    alpha, beta = jnp.float32(0.0), jnp.zeros(d, jnp.float32)
    w = jnp.ones(rows, jnp.float32)  # every row counts (the steps take a row mask)

    def grad_phase():
        G = jnp.zeros((d, half), jnp.float32)
        for X, y in blocks:
            G = _grad_block(G, W, b, a, X, y, w, alpha, beta, act, True)
        return G

    @jax.jit
    def plain_grad(G, X):
        # the same two GEMMs with no elementwise work between them
        return G + (X @ W.T).T @ X

    def grad_base():
        G = jnp.zeros((half, d), jnp.float32)
        for X, _ in blocks:
            G = plain_grad(G, X)
        return G

    def gram_phase():
        A, c = jnp.zeros((m, m), jnp.float32), jnp.zeros(m, jnp.float32)
        for X, y in blocks:
            A, c = _head_gram_block(A, c, p.W, p.b, X, y, w, alpha, beta, act)
        return A

    @jax.jit
    def plain_gram(A, X):
        Phi = X @ p.W.T
        return A + Phi.T @ Phi

    def gram_base():
        A = jnp.zeros((m, m), jnp.float32)
        for X, _ in blocks:
            A = plain_gram(A, X)
        return A

    n = n_blocks * rows
    flops_grad = 2 * (2.0 * n * d * half)
    flops_gram = 2.0 * n * d * m + 2.0 * n * m * m
    out = {}
    for name, phase, base, flops in (
        ("gradient", grad_phase, grad_base, flops_grad),
        ("gram", gram_phase, gram_base, flops_gram),
    ):
        t_phase, t_base = _median_time(phase, repeats), _median_time(base, repeats)
        out[name] = {
            "seconds": t_phase,
            "gflops": flops / t_phase / 1e9,
            "baseline_gflops": flops / t_base / 1e9,
            "ratio": t_base / t_phase,
        }
    return out


CHILD = """
import json, resource, time, jax
import featlearn
from featlearn.learners import make_learner
from featlearn.targets import make_target
n, d, m = {n}, {d}, {m}
t = make_target("dls-r2p3", d, key=jax.random.key(0))
val = t.sample(10_000, key=jax.random.key(2))
t0 = time.perf_counter()
lw = make_learner("layerwise", width=m).fit_stream(t.stream(n, key=jax.random.key(1)), key=jax.random.key(3), validation=val)
secs = time.perf_counter() - t0
print(json.dumps({{"seconds": secs, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}}))
"""


def streaming_memory(n: int, d: int, m: int) -> dict:
    code = CHILD.format(n=n, d=d, m=m)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small phases, no n = 10^6 run")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    d, m, rows = 256, 2048, 4096
    n_blocks = 2 if args.quick else 8
    res = phases(n_blocks, rows, d, m, args.repeats)
    print(f"phases at n = {n_blocks * rows}, d = {d}, m = {m}, float32, median of {args.repeats}:")
    for name, r in res.items():
        print(
            f"  {name:9s} {r['gflops']:7.1f} GFLOP/s   plain matmul {r['baseline_gflops']:7.1f} GFLOP/s"
            f"   ratio {r['ratio']:.2f} (target >= 0.60)"
        )
    if not args.quick:
        mem = streaming_memory(1_000_000, d, m)
        print(
            f"streamed fit n = 10^6, d = {d}, m = {m}: {mem['seconds']:.0f} s, "
            f"peak RSS {mem['peak_rss_gb']:.2f} GB (target <= 4 GB)"
        )
    print(
        f"(this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB)"
    )


if __name__ == "__main__":
    main()
