"""Densities, marginal, log-likelihood and responsibilities (gmm/likelihood.py) against
scipy.stats.multivariate_normal and scipy.special.logsumexp, with the tied, diag and spherical
covariances expanded to full matrices here, not by the library."""

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import TYPES, full_matrices, random_mixture, scipy_log_densities

import gmm

SETTINGS = settings(max_examples=30, deadline=None)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    covariance_type=st.sampled_from(TYPES),
    K=st.integers(1, 4),
    D=st.integers(1, 4),
    N=st.integers(1, 30),
)
def test_log_densities_match_scipy(seed, covariance_type, K, D, N):
    rng = np.random.default_rng(seed)
    theta = random_mixture(rng, covariance_type, K, D)
    X = rng.normal(scale=4.0, size=(N, D))
    expected = scipy_log_densities(X, theta)
    np.testing.assert_allclose(gmm.log_gaussian_density(X, theta), expected, rtol=1e-10,
                               atol=1e-10)
    weighted = expected + np.log(theta.weights)
    np.testing.assert_allclose(gmm.log_weighted_densities(X, theta), weighted, rtol=1e-10,
                               atol=1e-10)
    marginal = scipy.special.logsumexp(weighted, axis=1)
    np.testing.assert_allclose(gmm.log_marginal(X, theta), marginal, rtol=1e-10, atol=1e-10)
    assert gmm.log_likelihood(X, theta) == pytest.approx(marginal.sum(), rel=1e-10, abs=1e-10)
    sample_weight = rng.integers(0, 4, size=N).astype(float)
    sample_weight[0] = 1.0
    assert gmm.log_likelihood(X, theta, sample_weight=sample_weight) == pytest.approx(
        sample_weight @ marginal, rel=1e-10, abs=1e-10
    )
    resp = np.exp(weighted - marginal[:, None])
    np.testing.assert_allclose(gmm.responsibilities(X, theta), resp, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(gmm.log_responsibilities(X, theta), weighted - marginal[:, None],
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_densities_against_a_hand_written_formula(covariance_type):
    # A second oracle with no scipy: the textbook formula with numpy's inverse and det.
    rng = np.random.default_rng(7)
    theta = random_mixture(rng, covariance_type, 3, 2)
    X = rng.normal(size=(10, 2))
    expected = np.empty((10, 3))
    for k, (mean, cov) in enumerate(zip(theta.means, full_matrices(theta), strict=True)):
        diff = X - mean
        maha = np.einsum("nd,de,ne->n", diff, np.linalg.inv(cov), diff)
        expected[:, k] = -np.log(2 * np.pi) - 0.5 * np.log(np.linalg.det(cov)) - 0.5 * maha
    np.testing.assert_allclose(gmm.log_gaussian_density(X, theta), expected, rtol=1e-10)


@SETTINGS
@given(
    a=st.lists(st.floats(-1e300, 1e300) | st.just(-np.inf), min_size=1, max_size=8),
)
def test_logsumexp_matches_scipy(a):
    a = np.array(a)
    expected = scipy.special.logsumexp(a)
    result = gmm.logsumexp(a)
    if np.isneginf(expected):
        assert np.isneginf(result)
    else:
        assert result == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_logsumexp_axes_and_extremes():
    a = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, -np.inf]])
    out = gmm.logsumexp(a, axis=1)
    np.testing.assert_allclose(out[:2], [1000 + np.log(2), -1000 + np.log(2)], rtol=1e-15)
    assert np.isneginf(out[2])
    b = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_allclose(gmm.logsumexp(b, axis=0), scipy.special.logsumexp(b, axis=0))
    assert gmm.logsumexp(b, axis=None) == pytest.approx(scipy.special.logsumexp(b))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_responsibilities_sum_to_one_far_from_every_component(covariance_type):
    rng = np.random.default_rng(3)
    theta = random_mixture(rng, covariance_type, 4, 3)
    # 50 standard deviations (of the widest component, along every axis) from every mean:
    # every density underflows to 0 in linear space.
    largest_sd = np.sqrt(max(np.linalg.eigvalsh(c).max() for c in full_matrices(theta)))
    far = theta.means.max(axis=0) + 50 * largest_sd * np.sqrt(3)
    X = np.vstack([far, -far, theta.means + 60 * largest_sd, rng.normal(size=(5, 3))])
    assert np.all(np.exp(scipy_log_densities(X[:2], theta)) == 0.0)  # naive formula fails
    resp = gmm.responsibilities(X, theta)
    assert np.all(np.isfinite(resp))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(gmm.log_marginal(X, theta)))


def test_responsibilities_of_zero_weight_component():
    theta = gmm.Mixture([1.0, 0.0], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    resp = gmm.responsibilities([[0.5], [3.0]], theta)
    np.testing.assert_array_equal(resp[:, 1], 0.0)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, atol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), covariance_type=st.sampled_from(TYPES))
def test_permuted_leaves_log_likelihood_unchanged(seed, covariance_type):
    rng = np.random.default_rng(seed)
    theta = random_mixture(rng, covariance_type, 4, 2)
    X = rng.normal(scale=3.0, size=(25, 2))
    order = rng.permutation(4)
    permuted = theta.permuted(order)
    assert gmm.log_likelihood(X, permuted) == pytest.approx(
        gmm.log_likelihood(X, theta), rel=1e-12
    )
    # Component j of the permuted mixture is component order[j] of the original.
    np.testing.assert_allclose(gmm.responsibilities(X, permuted),
                               gmm.responsibilities(X, theta)[:, order], rtol=1e-12,
                               atol=1e-15)
