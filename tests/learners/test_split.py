"""Holdout validation splits a stream at an exact row, whatever its block size."""

import jax
import numpy as np
import pytest

from featlearn._errors import ConfigError
from featlearn.learners._steps import split_validation
from featlearn.targets import ArrayStream, make_target


@pytest.mark.parametrize("n", [10, 512, 4097, 9000])
def test_holdout_is_the_last_rows_of_the_stream(n):
    target = make_target("single-he2", 6, key=jax.random.key(0))
    stream = target.stream(n, key=jax.random.key(1), block=1024)
    X, y = (np.asarray(v) for v in stream.materialize())
    train, (X_val, y_val) = split_validation(stream, None, 0.2)
    n_train = round(0.8 * n)
    assert train.n == n_train and X_val.shape == (n - n_train, 6)
    X_tr, y_tr = (np.asarray(v) for v in train.materialize())
    np.testing.assert_array_equal(X_tr, X[:n_train])
    np.testing.assert_array_equal(y_tr, y[:n_train])
    np.testing.assert_array_equal(np.asarray(X_val), X[n_train:])
    np.testing.assert_array_equal(np.asarray(y_val), y[n_train:])


def test_holdout_of_arrays_and_bad_fractions():
    X = np.arange(20.0).reshape(10, 2)
    train, (X_val, _) = split_validation(ArrayStream(X, X[:, 0]), None, 0.3)
    np.testing.assert_array_equal(np.asarray(train.materialize()[0]), X[:7])
    np.testing.assert_array_equal(np.asarray(X_val), X[7:])
    with pytest.raises(ConfigError, match="val_fraction"):
        split_validation(ArrayStream(X, X[:, 0]), None, 1.5)
    with pytest.raises(ConfigError, match="no training or no validation"):
        split_validation(ArrayStream(X[:1], X[:1, 0]), None, 0.2)
