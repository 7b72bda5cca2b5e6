"""RPCholesky, its Woodbury preconditioner, the tiled kernel operator and pcg_ridge, each against
a dense float64 reference (numpy/scipy)."""

import itertools

import jax
import numpy as np
import pytest
import scipy.linalg

from featlearn import ConfigError
from featlearn.kernels import kernel_matrix, make_kernel
from featlearn.solvers import (
    KernelTiles,
    LowRankPreconditioner,
    pcg_memory,
    pcg_ridge,
    rpcholesky,
    tiles_memory,
)
from featlearn.solvers._pcg import _round_rtol
from featlearn.solvers._tiles import host_threads


def _data(n, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X[:, 0] * X[:, 1] + (X[:, 2] ** 2 - 1) / np.sqrt(2) + 0.1 * rng.standard_normal(n)
    return X, y


def _rbf(n=160):
    X, _ = _data(n, d=3)
    return kernel_matrix(make_kernel("rbf", bandwidth=0.7), X) + 1e-3 * np.eye(n)


def test_rpcholesky_trace_error_falls_with_rank_and_is_exact_at_full_rank():
    K = _rbf()
    errors = []
    for rank in (4, 16, 48, 96):
        fac = rpcholesky(lambda S: K[:, S], np.diag(K), rank=rank, key=jax.random.key(0), block=8)
        E = K - fac.factor @ fac.factor.T
        assert fac.rank == rank
        np.testing.assert_allclose(fac.residual_diag, np.diag(E), atol=1e-10)
        assert fac.trace_error == pytest.approx(np.trace(E), rel=1e-8)
        assert np.linalg.eigvalsh(E).min() > -1e-10  # a Schur complement: PSD
        errors.append(fac.trace_error)
    assert all(b < 0.7 * a for a, b in zip(errors, errors[1:], strict=False))
    full = rpcholesky(lambda S: K[:, S], np.diag(K), rank=len(K), key=jax.random.key(1), block=32)
    np.testing.assert_allclose(full.factor @ full.factor.T, K, atol=1e-10 * np.abs(K).max())


def test_rpcholesky_adaptive_stop_and_bad_rank():
    K = _rbf()
    fac = rpcholesky(
        lambda S: K[:, S], np.diag(K), rank=len(K), key=jax.random.key(0), block=8, stall=3.0
    )
    assert 0 < fac.rank < len(K)  # stopped once pivots explained little more than a column
    with pytest.raises(ConfigError, match="rank must be an integer >= 1; got 0"):
        rpcholesky(lambda S: K[:, S], np.diag(K), rank=0, key=jax.random.key(0))


def test_woodbury_preconditioner_is_the_inverse_of_p():
    K = _rbf(120)
    F = rpcholesky(lambda S: K[:, S], np.diag(K), rank=30, key=jax.random.key(0)).factor
    rho, mus = 0.05, np.array([1e-9, 1e-4, 1.0])
    R = np.random.default_rng(1).standard_normal((len(K), 3))
    got = LowRankPreconditioner(F, rho=rho)(R, mus)
    for l, mu in enumerate(mus):
        want = np.linalg.solve(F @ F.T + (mu + rho) * np.eye(len(K)), R[:, l])
        np.testing.assert_allclose(got[:, l], want, rtol=1e-8, atol=1e-10 * np.abs(want).max())


def test_woodbury_preconditioner_by_cholesky_equals_the_eigendecomposition(monkeypatch):
    """Up to two shifts named at construction are served by Cholesky factors of (s I + F^T F),
    more (or unnamed ones) by F^T F's eigendecomposition, and a failed Cholesky falls back to it:
    the same P^{-1} R every way, and that of a dense solve."""
    import scipy.linalg

    K = _rbf(120)
    F = rpcholesky(lambda S: K[:, S], np.diag(K), rank=30, key=jax.random.key(0)).factor
    R = np.random.default_rng(1).standard_normal((len(K), 2))
    mus, rho = np.array([1e-6, 1e-2]), 0.01
    by_cholesky = LowRankPreconditioner(F, rho=rho, mus=mus, single=False)
    assert len(by_cholesky._factors) == 2 and by_cholesky._eigh is None
    got = by_cholesky(R, mus)
    want = LowRankPreconditioner(F, rho=rho)(R, mus)  # no shifts named: eigendecomposition
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * np.abs(want).max())
    for l, mu in enumerate(mus):
        dense = np.linalg.solve(F @ F.T + (mu + rho) * np.eye(len(K)), R[:, l])
        np.testing.assert_allclose(got[:, l], dense, rtol=1e-8, atol=1e-10 * np.abs(dense).max())
    # a shift not named at construction still works (through the eigendecomposition)
    other = LowRankPreconditioner(F, rho=rho)(R[:, :1], [0.5])
    np.testing.assert_allclose(by_cholesky(R[:, :1], [0.5]), other, rtol=1e-9)

    def fail(*args, **kwargs):
        raise np.linalg.LinAlgError("not positive definite")

    monkeypatch.setattr(scipy.linalg, "cho_factor", fail)
    fallback = LowRankPreconditioner(F, rho=rho, mus=mus, single=False)
    assert fallback._factors == {} and fallback._eigh is not None
    np.testing.assert_allclose(fallback(R, mus), want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_float32_preconditioner_stays_within_its_bound_and_is_refused_below_it():
    """The float32 application of P^{-1} differs from the float64 one by at most
    single_error(s) |R| / s per column; it is chosen only where that bound is <= SINGLE_ERROR,
    so a tiny shift against |F^T F| (a low-rank kernel, rho ~ 0) keeps float64."""
    K = _rbf(400)
    F = rpcholesky(lambda S: K[:, S], np.diag(K), rank=60, key=jax.random.key(0)).factor
    R = np.random.default_rng(3).standard_normal((len(K), 2))
    mus, rho = np.array([1e-3, 1e-1]), 1e-2
    single = LowRankPreconditioner(F, rho=rho, mus=mus)
    assert single.single and single.F.dtype == np.float32
    exact = LowRankPreconditioner(F, rho=rho, mus=mus, single=False)
    assert not exact.single and exact.F.dtype == np.float64
    got, want = single(R, mus), exact(R, mus)
    for l, s in enumerate(mus + rho):
        err = np.linalg.norm(got[:, l] - want[:, l]) / (np.linalg.norm(R[:, l]) / s)
        assert 0 < err <= single.single_error(s) <= LowRankPreconditioner.SINGLE_ERROR
    # the bound by hand: eps32 (1 + sqrt(tr F^T F / s))
    s0 = mus[0] + rho
    by_hand = np.finfo(np.float32).eps * (1 + np.sqrt(np.sum(F * F) / s0))
    np.testing.assert_allclose(single.single_error(s0), by_hand, rtol=1e-12)
    # a shift too small against |F^T F|: float64, and the dense solve's answer
    tiny = np.array([1e-6])
    low = LowRankPreconditioner(F, rho=0.0, mus=tiny)
    assert low.single_error(1e-6) > LowRankPreconditioner.SINGLE_ERROR and not low.single
    dense = np.linalg.solve(F @ F.T + 1e-6 * np.eye(len(K)), R[:, 0])
    np.testing.assert_allclose(
        low(R[:, :1], tiny)[:, 0], dense, rtol=1e-5, atol=1e-8 * np.abs(dense).max()
    )
    # a float32 preconditioner given a shift below its bound applies it in float64: the
    # preconditioner of its own (rounded) F, exactly
    single0 = LowRankPreconditioner(F, rho=0.0, mus=[1e-1])
    assert single0.single and single0.single_error(1e-6) > LowRankPreconditioner.SINGLE_ERROR
    rounded = LowRankPreconditioner(F.astype(np.float32).astype(np.float64), single=False)
    np.testing.assert_allclose(single0(R[:, :1], tiny), rounded(R[:, :1], tiny), rtol=1e-9)


@pytest.mark.parametrize("store", [True, False])
def test_tiles_give_k_times_v_in_float64_and_float32(store):
    X, _ = _data(300)
    kernel = make_kernel("ntk")
    K = kernel_matrix(kernel, X)
    V = np.random.default_rng(2).standard_normal((300, 6))
    op = KernelTiles(kernel, X, store=store, tile=128)  # 3 x 3 tiles, the last one ragged
    want = K @ V
    scale = np.abs(want).max()
    assert np.abs(op.matvec(V, accurate=True) - want).max() < 1e-11 * scale
    # float32, one column and several
    for cols in (slice(0, 1), slice(0, 3), slice(0, 6)):
        assert np.abs(op.matvec(V[:, cols], accurate=False) - want[:, cols]).max() < 1e-5 * scale
    assert np.abs(op.matvec(V[:, 0], accurate=True) - want[:, 0]).max() < 1e-11 * scale
    assert tiles_memory(300, tile=128) == 6 * 6 * 104**2  # 6 upper tiles of 104^2 entries


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_accurate_product_split_over_threads_is_k_times_v(threads, monkeypatch):
    """The float64 product sums groups of panels on host_threads() threads: each panel in exactly
    one group, and the same K V (to float64 round-off) for any count."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
    assert host_threads() == int(threads)
    X, _ = _data(700)
    kernel = make_kernel("ntk")
    op = KernelTiles(kernel, X, tile=256)
    groups = op._groups(host_threads())
    assert len(groups) == int(threads)
    assert [p[0] for g in groups for p in g] == [p[0] for p in op.panels]
    V = np.random.default_rng(4).standard_normal((700, 2))
    want = kernel_matrix(kernel, X) @ V
    assert np.abs(op.matvec(V, accurate=True) - want).max() < 1e-11 * np.abs(want).max()


@pytest.mark.parametrize("name", ["ntk", "rbf"])  # rbf: max k(x, x) = 1, a power of two
def test_stored_panels_hold_k_within_their_bound(name):
    X, _ = _data(300)
    kernel = make_kernel(name)
    K = kernel_matrix(kernel, X)
    op = KernelTiles(kernel, X, tile=128)
    # the panels, each against the block of K it stands for: rows r0..r1, columns r0..n
    assert [(r0, r1) for r0, r1, _, _ in op.panels][:3] == [(0, 64), (64, 104), (104, 168)]
    assert sum(r1 - r0 for r0, r1, _, _ in op.panels) == 300  # every row once, in order
    hi = np.concatenate([h.astype(np.float64).ravel() for _, _, h, _ in op.panels])
    lo = np.concatenate([w.astype(np.float64).ravel() for _, _, _, w in op.panels])
    want = np.concatenate([K[r0:r1, r0:].ravel() for r0, r1, _, _ in op.panels])
    top = np.diag(K).max()
    # held: whole tile rows (104 x (300 - 104 i)), within what the budget counts for them
    assert op.nbytes == 6 * sum(104 * (300 - 104 * i) for i in range(2)) + 6 * 92 * 92
    assert op.nbytes <= tiles_memory(300, tile=128)
    assert np.abs(lo).max() <= 2**14  # |K - hi| <= 2^(e - 25): 2^14 units of 2^(e - 39)
    assert np.abs(hi - want).max() <= 2.0**-24 * top  # float32: half an ulp of 2^e > top
    # hi + unit lo is K to half a unit (2^-39 max k(x, x) at most), plus K's own float64 rounding
    assert np.abs(hi + op.unit * lo - want).max() <= 2.0**-39 * top + 4e-16 * top
    assert op.unit <= 2.0**-38 * top and op.unit > 2.0**-39 * top


def test_round_tolerance_is_inner_rtol_unless_less_suffices():
    assert _round_rtol(np.array([1.0, 1e-3]), 1e-10, 1e-6) == 1e-6  # six digits to go: full round
    assert _round_rtol(np.array([1.25e-10, 1e-11]), 1e-10, 1e-6) == pytest.approx(0.08)
    assert _round_rtol(np.array([2e-11]), 1e-10, 1e-6) == 0.1  # capped: CG must still gain a digit


def _dense_predictions(K, K_val, y, lambdas):
    n = len(y)
    alphas = [
        scipy.linalg.cho_solve(scipy.linalg.cho_factor(K + n * lam * np.eye(n)), y - y.mean())
        for lam in lambdas
    ]
    return K_val @ np.stack(alphas, axis=1)


@pytest.mark.parametrize("kernel,rank,store,smallest", [
    ("ntk", None, True, 1e-9),
    ("ntk", 40, False, 1e-9),
    # the RBF spectrum decays fast: below lam = 1e-4, cond(K + n lam I) > 1e6 and the dense
    # solve's own residual is already ~1e-11 (measured: 1.8e-11 at cond 4e7)
    ("rbf", None, True, 1e-4),
])  # fmt: skip
def test_pcg_predictions_equal_the_dense_solve(kernel, rank, store, smallest):
    X, y = _data(400)
    X_val, _ = _data(200, seed=1)
    k = make_kernel(kernel)
    K, K_val = kernel_matrix(k, X), kernel_matrix(k, X_val, X)
    lambdas = np.array([smallest, 1e-5, 1e-3, 1.0]) * np.mean(np.diag(K)) / len(y)
    sol = pcg_ridge(k, X, y, lambdas, key=jax.random.key(0), rank=rank, store=store)
    want = _dense_predictions(K, K_val, y, lambdas)
    got = K_val @ sol.coefs
    assert sol.converged and (sol.residuals <= 1e-10).all()
    assert sol.y_mean == pytest.approx(y.mean(), rel=1e-14)
    rel = np.abs(got - want).max(axis=0) / np.abs(want).max(axis=0)
    assert (rel < 1e-6).all(), rel


def test_pcg_lambda_path_equals_per_lambda_solves():
    X, y = _data(400, seed=3)
    k = make_kernel("nngp")
    lambdas = np.geomspace(1e-8, 10, 6) * float(np.mean(k.diag(X))) / len(y)
    path = pcg_ridge(k, X, y, lambdas, key=jax.random.key(0)).coefs
    for l in (0, 3, 5):
        one = pcg_ridge(k, X, y, lambdas[l : l + 1], key=jax.random.key(1)).coefs[:, 0]
        np.testing.assert_allclose(path[:, l], one, rtol=1e-7, atol=1e-9 * np.abs(one).max())


def test_pcg_bad_options_name_the_field():
    X, y = _data(50)
    k, key = make_kernel("ntk"), jax.random.key(0)
    with pytest.raises(ConfigError, match="rank must be an integer >= 1; got 0"):
        pcg_ridge(k, X, y, [1e-3], key=key, rank=0)
    with pytest.raises(ConfigError, match="rank must be an integer >= 1; got -3"):
        pcg_ridge(k, X, y, [1e-3], key=key, rank=-3)
    with pytest.raises(ConfigError, match="lambdas must all be > 0"):
        pcg_ridge(k, X, y, [0.0], key=key)
    with pytest.raises(ConfigError, match=r"y \(n,\)"):
        pcg_ridge(k, X, y[:-1], [1e-3], key=key)
    assert pcg_memory(1000, 100, 4, store=True) > pcg_memory(1000, 100, 4, store=False)


def test_adaptive_rank_ceiling_grows_like_sqrt_n():
    """pcg_rank: whole RPCholesky blocks near 11 sqrt(n), the values its docstring names, never
    above n or RANK_CAP; pcg_ridge's adaptive rank stays under it."""
    from featlearn.solvers import RANK_CAP, pcg_rank

    assert [pcg_rank(n) for n in (8192, 20000, 32768, 10**6)] == [1024, 1536, 2048, RANK_CAP]
    assert pcg_rank(100) == 100 and pcg_rank(500) == 256 and pcg_rank(1) == 1
    ns = np.unique(np.geomspace(2, 2e5, 60).astype(int))
    ranks = [pcg_rank(int(n)) for n in ns]
    assert all(a <= b for a, b in itertools.pairwise(ranks))
    assert all(r <= n and (r % 128 == 0 or r == n) for r, n in zip(ranks, ns, strict=True))
    X, y = _data(600)
    sol = pcg_ridge(make_kernel("ntk"), X, y, [1e-3], key=jax.random.key(0))
    assert sol.converged and sol.rank <= pcg_rank(600) == 256


def test_float32_rpcholesky_matches_float64_and_pcg_falls_back_for_low_rank_kernels(monkeypatch):
    """dtype=float32 gives a float32 factor whose residual diagonal is diag(K - F F^T) (float64
    sums) and whose trace error is float64's to float32 accuracy; _factor keeps it while the trace
    error is >= 1e-3 of tr K and redoes the factor in float64 below that (a low-rank kernel)."""
    from featlearn.solvers import _pcg

    K = _rbf(300)
    f64 = rpcholesky(lambda S: K[:, S], np.diag(K), rank=40, key=jax.random.key(0))
    K32 = K.astype(np.float32)
    f32 = rpcholesky(
        lambda S: K32[:, S], np.diag(K), rank=40, key=jax.random.key(0), dtype=np.float32
    )
    assert f32.factor.dtype == np.float32 and f64.factor.dtype == np.float64
    F = f32.factor.astype(np.float64)
    want = np.diag(K - F @ F.T)
    np.testing.assert_allclose(f32.residual_diag, want, atol=1e-5 * np.diag(K).max())
    np.testing.assert_allclose(f32.trace_error, f64.trace_error, rtol=1e-3)
    with pytest.raises(ConfigError, match="dtype must be float64 or float32; got int64"):
        rpcholesky(lambda S: K[:, S], np.diag(K), rank=4, key=jax.random.key(0), dtype=np.int64)

    made = []

    def spy(*args, **kwargs):
        made.append(_rpcholesky_of_pcg(*args, **kwargs))
        return made[-1]

    _rpcholesky_of_pcg = _pcg.rpcholesky
    monkeypatch.setattr(_pcg, "rpcholesky", spy)
    X, _ = _data(300)
    for name, options, dtypes in [
        ("ntk", {}, [np.float32]),  # rank 40 leaves far more than 1e-3 of tr K: kept
        ("poly", {"q": 1}, [np.float32, np.float64]),  # rank d + 1 = 7: float32 leaves ~0
    ]:
        made.clear()
        kernel = make_kernel(name, **options)
        _pcg._factor(kernel, X, 40, jax.random.key(0), mus=[1e-2])
        assert [fac.factor.dtype for fac in made] == dtypes
        trace = float(np.trace(kernel_matrix(kernel, X)))
        kept = made[-1].trace_error >= _pcg.SINGLE_FACTOR * trace
        assert kept == (len(dtypes) == 1)
