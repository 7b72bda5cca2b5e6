import jax
import jax.numpy as jnp
import numpy as np
import pytest

from featlearn import ConfigError
from featlearn.networks import ACTIVATIONS, forward, get_activation, init_giant_step, init_symmetric


def test_symmetric_init_is_identically_zero():
    p = init_symmetric(64, 10, key=jax.random.key(0))
    X = jax.random.normal(jax.random.key(1), (500, 10), dtype=jnp.float32)
    # zero up to float32 round-off of the sum: compare with the sum of |a_j phi_j|
    scale = np.asarray(jnp.abs(jax.nn.relu(X @ p.W.T + p.b)) @ jnp.abs(p.a))
    assert np.all(np.abs(np.asarray(forward(p, X))) <= 1e-6 * scale)
    # but the neurons themselves are not zero, and half have each sign
    assert float(jnp.abs(p.W).sum()) > 0
    assert int((p.a > 0).sum()) == 32


def test_symmetric_init_scale():
    p = init_symmetric(20_000, 50, key=jax.random.key(2), dtype=jnp.float64)
    assert float(jnp.mean(jnp.sum(p.W**2, 1))) == pytest.approx(1.0, rel=0.02)
    assert float(jnp.var(p.b)) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize(
    "width,match", [(7, "width must be even"), (0, "width must be an integer >= 2")]
)
def test_bad_width(width, match):
    with pytest.raises(ConfigError, match=match):
        init_symmetric(width, 5, key=jax.random.key(0))


def test_giant_step_init():
    p = init_giant_step(4000, 10, key=jax.random.key(0), dtype=jnp.float64)
    assert float(jnp.abs(p.b).max()) == 0.0
    assert float(jnp.var(p.a)) * 4000 == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_autodiff(name):
    act = get_activation(name)
    z = jnp.linspace(-3.0, 3.0, 61, dtype=jnp.float64) + 1e-3  # avoid ReLU's kink at 0
    np.testing.assert_allclose(act.deriv(z), jax.vmap(jax.grad(act.fn))(z), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_duals_against_monte_carlo(name):
    act = get_activation(name)
    s11, s12, s22 = 1.3, 0.4, 0.8
    L = np.linalg.cholesky(np.array([[s11, s12], [s12, s22]]))
    uv = jax.random.normal(jax.random.key(0), (400_000, 2), dtype=jnp.float64) @ jnp.asarray(L.T)
    u, v = uv[:, 0], uv[:, 1]
    for dual, fn in ((act.dual, act.fn), (act.dual_prime, act.deriv)):
        samples = np.asarray(fn(u) * fn(v))
        tol = 5 * samples.std() / np.sqrt(len(samples))
        assert abs(float(dual(s11, s12, s22)) - samples.mean()) < tol


def test_unknown_activation():
    with pytest.raises(ConfigError, match="activation must be one of"):
        get_activation("swish")
