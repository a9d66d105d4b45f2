"""Ancestral sampling (gmm/sampling.py): the moments of 100 000 samples against the
parameters, with tolerances derived from the standard errors."""

import numpy as np
import pytest
from oracles import TYPES, full_matrices

import gmm

N = 100_000


def mixture(covariance_type):
    means = [[0.0, 0.0, 1.0], [5.0, -3.0, 0.0], [-4.0, 4.0, 2.0]]
    covariances = {
        "full": [[[1.0, 0.5, 0.2], [0.5, 2.0, -0.3], [0.2, -0.3, 0.7]],
                 [[0.5, 0.0, 0.1], [0.0, 1.0, 0.4], [0.1, 0.4, 3.0]],
                 np.eye(3) * 2.0],
        "tied": [[1.0, 0.5, 0.2], [0.5, 2.0, -0.3], [0.2, -0.3, 0.7]],
        "diag": [[1.0, 2.0, 0.5], [0.3, 0.3, 3.0], [2.0, 1.0, 1.0]],
        "spherical": [1.0, 0.3, 2.5],
    }[covariance_type]
    return gmm.Mixture([0.5, 0.3, 0.2], means, covariances, covariance_type)


# Every comparison below allows 5 standard errors. There are ~50 comparisons per type, so
# with independent normal errors the chance of a false failure is ~50 * 6e-7 = 3e-5; the
# seed is fixed anyway, so the test is deterministic.
Z = 5.0


@pytest.mark.parametrize("covariance_type", TYPES)
def test_sample_moments_match_parameters(covariance_type):
    theta = mixture(covariance_type)
    X, z = gmm.sample(theta, N, random_state=12345)
    assert X.shape == (N, 3) and z.shape == (N,)
    assert np.issubdtype(z.dtype, np.integer) and set(np.unique(z)) <= {0, 1, 2}
    # Label frequencies: a binomial proportion, standard error sqrt(pi (1 - pi) / N).
    frequencies = np.bincount(z, minlength=3) / N
    standard_error = np.sqrt(theta.weights * (1 - theta.weights) / N)
    assert np.all(np.abs(frequencies - theta.weights) < Z * standard_error)
    for k, covariance in enumerate(full_matrices(theta)):
        points = X[z == k]
        n_k = len(points)
        # Sample mean: standard error sqrt(Sigma_ii / n_k) per coordinate.
        mean_error = np.sqrt(np.diag(covariance) / n_k)
        assert np.all(np.abs(points.mean(axis=0) - theta.means[k]) < Z * mean_error)
        # Sample covariance of a Gaussian: Var(S_ij) = (Sigma_ii Sigma_jj + Sigma_ij^2) / n_k.
        sample_covariance = np.cov(points, rowvar=False)
        variance = np.diag(covariance)
        covariance_error = np.sqrt((np.outer(variance, variance) + covariance**2) / n_k)
        assert np.all(np.abs(sample_covariance - covariance) < Z * covariance_error)
    # The marginal mean: sum_k pi_k mu_k, standard error from the mixture's own variance.
    overall_mean = theta.weights @ theta.means
    second = sum(w * (c + np.outer(m, m)) for w, m, c in
                 zip(theta.weights, theta.means, full_matrices(theta), strict=True))
    overall_variance = np.diag(second - np.outer(overall_mean, overall_mean))
    assert np.all(np.abs(X.mean(axis=0) - overall_mean) < Z * np.sqrt(overall_variance / N))


def test_sample_is_reproducible_and_seeded():
    theta = mixture("full")
    a, za = gmm.sample(theta, 50, random_state=3)
    b, zb = gmm.sample(theta, 50, random_state=np.random.default_rng(3))
    c, _ = gmm.sample(theta, 50, random_state=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(za, zb)
    assert not np.array_equal(a, c)


def test_zero_weight_component_is_never_drawn():
    theta = gmm.Mixture([0.0, 1.0], [[100.0], [0.0]], [[[1.0]], [[1.0]]])
    _, z = gmm.sample(theta, 1000, random_state=0)
    assert np.all(z == 1)


@pytest.mark.parametrize("n_samples", [0, -1, 2.5, "3"])
def test_bad_n_samples(n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        gmm.sample(mixture("full"), n_samples)
