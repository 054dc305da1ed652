import numpy as np
import pytest

from motioninr.covariance import pack_covariances, square_root_factor, unpack_covariances


def test_packed_covariances_round_trip():
    a = np.random.default_rng(0).normal(size=(3, 5, 5))
    cov = a @ a.transpose(0, 2, 1)
    assert np.allclose(unpack_covariances(pack_covariances(cov, "full"), 5), cov, atol=1e-5)


def test_square_root_factor_recovers_the_covariance_even_when_cholesky_fails():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    cov = a @ a.T + 0.1 * np.eye(4)
    factor = square_root_factor(cov)
    assert np.allclose(factor, np.linalg.cholesky(cov))
    singular = np.outer([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) - 1e-12 * np.eye(3)  # a tiny negative eigenvalue
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(singular)
    factor = square_root_factor(singular)
    assert np.allclose(factor @ factor.T, singular, atol=1e-9)
