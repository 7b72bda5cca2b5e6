"""featlearn._keys derives JAX's threefry keys in NumPy: bit for bit the keys JAX makes."""

import jax
import numpy as np
import pytest

from featlearn import _keys


def _data(key):
    return np.asarray(jax.random.key_data(key))


@pytest.mark.parametrize("partitionable", [True, False])
def test_keys_equal_jax_keys_bit_for_bit(partitionable):
    before = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", partitionable)
    try:
        with jax.enable_x64(True):
            for seed in [0, 1, 7, 2**31 - 1, 2**31, 2**32 + 3, 2**40 + 5, 2**62]:
                ours, theirs = _keys.key(seed), jax.random.key(seed)
                np.testing.assert_array_equal(_data(ours), _data(theirs))
                for data in [0, 1, 50, 2**31 + 7]:
                    np.testing.assert_array_equal(
                        _data(_keys.fold_in(ours, data)), _data(jax.random.fold_in(theirs, data))
                    )
                for num in [1, 2, 3, 5, 8]:
                    split = _keys.split(ours, num)
                    assert len(split) == num
                    for a, b in zip(split, jax.random.split(theirs, num), strict=True):
                        np.testing.assert_array_equal(_data(a), _data(b))
    finally:
        jax.config.update("jax_threefry_partitionable", before)


def test_keys_draw_the_numbers_jax_keys_draw():
    a, b = _keys.split(_keys.key(3), 2)[1], jax.random.split(jax.random.key(3), 2)[1]
    np.testing.assert_array_equal(jax.random.normal(a, (5,)), jax.random.normal(b, (5,)))
