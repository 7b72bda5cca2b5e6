import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import ConfigError
from featlearn.targets import (
    ArrayStream,
    Head,
    Target,
    load_head,
    make_target,
    make_transfer_pair,
    padded_rows,
    random_orthonormal_rows,
    target_from_callable,
)

N_MC = 200_000


def _mc(target, n=N_MC, seed=7):
    stream = target.stream(n, key=jax.random.key(seed), dtype=jnp.float64, block=n)
    return stream.materialize()


@pytest.mark.parametrize(
    "name",
    [
        "dls-r2p3",
        "transfer-pair/target",
        "random(r=3, p=3, energies=[0.1, 0.2, 0.4, 0.3], kappa=3)",
    ],
)
def test_exact_moments_against_monte_carlo(name):
    t = make_target(name, 6, key=jax.random.key(0))
    X, y = _mc(t)
    y = np.asarray(y)
    m = t.moments
    se_mean = y.std() / math.sqrt(len(y))
    assert abs(y.mean() - m.mean) < 5 * se_mean
    se_sq = (y**2).std() / math.sqrt(len(y))
    assert abs((y**2).mean() - m.second_moment) < 5 * se_sq
    # E grad f* and E hess f* by autodiff of f, averaged over samples
    f1 = lambda x: t.f(x[None, :])[0]  # noqa: E731
    Xs = X[:4_000]
    grads = np.asarray(jax.jit(jax.vmap(jax.grad(f1)))(Xs))
    hess = np.asarray(jax.jit(jax.vmap(jax.hessian(f1)))(Xs))
    tol_g = 5 * grads.std(0) / math.sqrt(len(Xs)) + 1e-9
    assert (np.abs(grads.mean(0) - m.mean_gradient) < tol_g).all()
    tol_h = 5 * hess.std(0) / math.sqrt(len(Xs)) + 1e-9
    assert (np.abs(hess.mean(0) - m.hessian) < tol_h).all()


def test_energy_per_degree_by_projection():
    t = make_target("dls-r2p3", 5, key=jax.random.key(1))
    assert t.moments.energy_per_degree == pytest.approx((0.0, 0.0, 0.5, 0.5))
    assert t.moments.energy_above(2) == pytest.approx(0.5)
    assert t.moments.hessian_rank == 2
    assert t.moments.hessian_condition == pytest.approx(1.0)
    assert t.satisfies_rank_assumption


def test_random_target_has_requested_energies_and_condition():
    t = make_target(
        "random(r=3, p=4, energies=[0, 0.1, 0.5, 0.2, 0.2], kappa=5, seed=3)",
        10,
        key=jax.random.key(2),
    )
    np.testing.assert_allclose(t.moments.energy_per_degree, [0, 0.1, 0.5, 0.2, 0.2], atol=1e-12)
    eig = np.sort(np.abs(np.linalg.eigvalsh(t.moments.hessian)))[-3:]
    assert eig.max() / eig.min() == pytest.approx(5.0, rel=1e-8)
    assert t.moments.hessian_rank == 3


def test_rank_deficient_target_is_flagged_not_refused():
    head = Head.from_terms(2, {(2, 0): 1.0, (0, 3): 1.0})  # no degree-2 energy along z2
    t = Target(head, random_orthonormal_rows(2, 4, key=jax.random.key(0)))
    assert t.moments.hessian_rank == 1
    assert math.isinf(t.moments.hessian_condition)
    assert not t.satisfies_rank_assumption


def test_transfer_pair_shares_U_with_other_head():
    s, t = make_transfer_pair(8, key=jax.random.key(3))
    np.testing.assert_array_equal(s.U, t.U)
    assert s.moments.energy_per_degree == pytest.approx(t.moments.energy_per_degree)
    assert not np.allclose(s.head.coefs, t.head.coefs)


def test_sampling_is_keyed_and_chunk_consistent():
    t = make_target("dls-r2p3", 7, key=jax.random.key(0))
    X1, y1 = t.sample(10_000, key=jax.random.key(5))
    X2, y2 = t.sample(10_000, key=jax.random.key(5))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = t.sample(10_000, key=jax.random.key(6))
    assert not np.allclose(X1, X3)
    # the stream yields the same rows, block by block, and splits into disjoint parts
    s = t.stream(10_000, key=jax.random.key(5))
    blocks = list(s)
    # two whole blocks, then the 1808-row tail as pieces of 1024 + 512 + 256 + 16 rows
    assert [b[0].shape[0] for b in blocks] == [4096, 4096, 1024, 512, 256, 16]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in blocks]), X1)
    first, rest = s.split(4096)
    np.testing.assert_array_equal(first.materialize()[0], X1[:4096])
    np.testing.assert_array_equal(rest.materialize()[1], y1[4096:])


@pytest.mark.parametrize("n", [5, 100, 4096, 10_000])
@pytest.mark.parametrize("kind", ["keyed", "arrays"])
def test_masked_blocks_have_one_shape_and_the_stream_rows(kind, n):
    t = make_target("dls-r2p3", 7, key=jax.random.key(0))
    keyed = t.stream(n, key=jax.random.key(5))
    s = keyed if kind == "keyed" else ArrayStream(*(np.asarray(v) for v in keyed.materialize()))
    X_plain = np.concatenate([np.asarray(b[0]) for b in s])
    y_plain = np.concatenate([np.asarray(b[1]) for b in s])
    blocks = list(s.masked())
    rows = padded_rows(n, 4096)
    assert rows == (4096 if n >= 4096 else max(8, 2 ** math.ceil(math.log2(n))))
    assert {b[0].shape for b in blocks} == {(rows, 7)}
    assert {b[1].shape for b in blocks} == {b[2].shape for b in blocks} == {(rows,)}
    w = np.concatenate([np.asarray(b[2]) for b in blocks])
    assert set(np.unique(w)) <= {0.0, 1.0} and w.sum() == n
    X_m = np.concatenate([np.asarray(b[0]) for b in blocks])[w == 1]
    y_m = np.concatenate([np.asarray(b[1]) for b in blocks])[w == 1]
    np.testing.assert_array_equal(X_m, X_plain)
    np.testing.assert_array_equal(y_m, y_plain)
    # the valid rows come first in each block: the mask is a prefix
    for b in blocks:
        m = np.asarray(b[2])
        assert (np.diff(m) <= 0).all()


def test_label_noise_has_requested_variance():
    t = make_target("single-he2", 3, key=jax.random.key(0))
    X, y = t.stream(
        100_000, key=jax.random.key(1), noise=0.25, dtype=jnp.float64, block=100_000
    ).materialize()
    resid = np.asarray(y - t.f(X))
    assert resid.var() == pytest.approx(0.25, rel=0.03)


def test_coefficient_files_roundtrip(tmp_path):
    toml = tmp_path / "g.toml"
    toml.write_text(
        "r = 2\nterms = [{alpha = [2, 0], coef = 0.6}, {alpha = [1, 1], coef = -0.8}]\n"
    )
    js = tmp_path / "g.json"
    js.write_text(
        json.dumps(
            {"r": 2, "terms": [{"alpha": [2, 0], "coef": 0.6}, {"alpha": [1, 1], "coef": -0.8}]}
        )
    )
    for path in (toml, js):
        t = make_target(str(path), 5, key=jax.random.key(0))
        assert t.moments.second_moment == pytest.approx(1.0)
        assert t.head.coef((1, 1)) == pytest.approx(-0.8)


@pytest.mark.parametrize(
    "text,match",
    [
        ("r = 2\nterms = [{alpha = [2, 0]}]\n", "terms\\[0\\]"),
        ("r = 2\nterms = [{alpha = [2, -1], coef = 1.0}]\n", "alpha"),
        ("r = 2\nterms = [{alpha = [2], coef = 1.0}]\n", "length r = 2"),
        ("r = 2\nterms = [\n", "malformed"),
        ("terms = []\n", "'r'"),
    ],
)
def test_malformed_coefficient_file(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_head(path)


@pytest.mark.parametrize(
    "name,d,match",
    [
        ("dls-r2p3", 1, r"d must be an integer >= r \(= 2\); got 1"),
        ("nope", 5, "target must be one of"),
        ("random(r=2, p=-1, energies=[])", 5, "p must be an integer >= 0; got -1"),
        ("random(r=2, p=2, energies=[0, 0, 1], kappa=0.5)", 5, "kappa must be >= 1"),
        ("random(r=2, p=2, energies=[0, 1])", 5, "energies must list p \\+ 1"),
        ("random(r=2, p=2, energies=[0, 1, 0])", 5, "energies\\[2\\] must be > 0"),
        ("random(r=2, p=2, energies=[0, 0, 1], foo=1)", 5, "unknown parameter"),
        ("random(r=2", 5, "random\\(r=2"),
        ("missing.toml", 5, "does not exist"),
    ],
)
def test_bad_target_input(name, d, match):
    with pytest.raises(ConfigError, match=match):
        make_target(name, d, key=jax.random.key(0))


def test_negative_noise_and_bad_n_are_refused():
    t = make_target("single-he2", 3, key=jax.random.key(0))
    with pytest.raises(ConfigError, match="noise must be >= 0; got -1"):
        t.stream(10, key=jax.random.key(0), noise=-1.0)
    with pytest.raises(ConfigError, match="n must be an integer >= 1; got 0"):
        t.stream(0, key=jax.random.key(0))


def test_callable_target_projects_a_polynomial_exactly():
    g = lambda z: z[:, 0] ** 3 + z[:, 0] * z[:, 1]  # noqa: E731  He_3 + 3 z1 + z1 z2
    t = target_from_callable(g, r=2, p=3, d=4, key=jax.random.key(0))
    assert t.head.coef((3, 0)) == pytest.approx(math.sqrt(6))
    assert t.head.coef((1, 0)) == pytest.approx(3.0)
    assert t.head.coef((1, 1)) == pytest.approx(1.0)
    z = np.random.default_rng(0).standard_normal((50, 2))
    np.testing.assert_allclose(np.asarray(t.head(jnp.asarray(z))), g(z), rtol=1e-10, atol=1e-10)
