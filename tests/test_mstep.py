"""The M-step (gmm/mstep.py): sufficient statistics against explicit loops; statistics that
add across batches; the updated parameters as a stationary point of Q plus the Lagrange term
(finite differences of a Q written here with scipy); fixed parameters; weighted statistics
against repeated rows; covariances of data far from the origin against a two-pass
computation on centred data and against scikit-learn."""

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import TYPES, covariance_estimates, expand

import gmm
from gmm import mstep

SETTINGS = settings(max_examples=25, deadline=None)


def soft_assignment(rng, N, K):
    return rng.dirichlet(np.ones(K), size=N)


def direct_statistics(X, resp, weight=None):
    """N_k, sum gamma x, sum gamma x x^T (full layout) by a loop over the points."""
    N, D = X.shape
    K = resp.shape[1]
    weight = np.ones(N) if weight is None else weight
    counts, sums, moments = np.zeros(K), np.zeros((K, D)), np.zeros((K, D, D))
    for n in range(N):
        for k in range(K):
            g = weight[n] * resp[n, k]
            counts[k] += g
            sums[k] += g * X[n]
            moments[k] += g * np.outer(X[n], X[n])
    return counts, sums, moments


def layout(moments, covariance_type):
    if covariance_type == "full":
        return moments
    if covariance_type == "tied":
        return moments.sum(axis=0)
    return np.array([np.diag(m) for m in moments])


@pytest.mark.parametrize("covariance_type", TYPES)
def test_sufficient_statistics_against_loops(covariance_type):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)) + [1.0, -2.0, 5.0]
    resp = soft_assignment(rng, 30, 2)
    weight = rng.uniform(0.5, 2.0, size=30)
    stats = gmm.sufficient_statistics(X, resp, covariance_type, sample_weight=weight)
    counts, sums, moments = direct_statistics(X, resp, weight)
    np.testing.assert_allclose(stats.counts, counts, rtol=1e-12)
    np.testing.assert_allclose(stats.sums, sums, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats.second_moments, layout(moments, covariance_type),
                               rtol=1e-10, atol=1e-10)
    assert stats.n_samples == pytest.approx(weight.sum(), rel=1e-14)
    # The three M-step formulas on them (eqs. mstep-weights, mstep-means).
    np.testing.assert_allclose(mstep.mixing_weights(stats), counts / weight.sum(), rtol=1e-12)
    np.testing.assert_allclose(mstep.means(stats), sums / counts[:, None], rtol=1e-10)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), covariance_type=st.sampled_from(TYPES),
       split=st.integers(1, 39))
def test_statistics_add_across_batches(seed, covariance_type, split):
    rng = np.random.default_rng(seed)
    # The batches are on different scales and far apart, so their shifts differ a lot.
    X = np.vstack([rng.normal(size=(split, 2)) + 100.0,
                   3 * rng.normal(size=(40 - split, 2)) - 50.0])
    resp = soft_assignment(rng, 40, 3)
    a = gmm.sufficient_statistics(X[:split], resp[:split], covariance_type)
    b = gmm.sufficient_statistics(X[split:], resp[split:], covariance_type)
    whole = gmm.sufficient_statistics(X, resp, covariance_type)
    combined = a + b
    np.testing.assert_allclose(combined.counts, whole.counts, rtol=1e-12)
    np.testing.assert_allclose(combined.sums, whole.sums, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(combined.second_moments, whole.second_moments, rtol=1e-10,
                               atol=1e-7)
    assert combined.n_samples == whole.n_samples
    for name in ("weights", "means", "covariances"):
        via_sum = mstep._parameters_from_statistics(combined, 0.0, frozenset(), None)
        direct = gmm.m_step(X, resp, covariance_type, reg_covar=0.0)
        np.testing.assert_allclose(getattr(via_sum, name), getattr(direct, name), rtol=1e-9,
                                   atol=1e-10)


def q_direct(X, resp, weights, means, covariances_full):
    """Q written out with scipy, for weights that need not sum to one."""
    total = 0.0
    for k in range(len(weights)):
        log_density = scipy.stats.multivariate_normal(means[k], covariances_full[k]).logpdf(X)
        total += np.sum(resp[:, k] * (np.log(weights[k]) + log_density))
    return total


@pytest.mark.parametrize("covariance_type", TYPES)
def test_m_step_is_a_stationary_point_of_the_lagrangian(covariance_type):
    # At the M-step's theta, the gradient of Q + lambda (1 - sum_k pi_k), lambda = N, is zero
    # in every direction: each weight, each mean entry and each free covariance entry.
    rng = np.random.default_rng(5)
    N, K, D = 60, 3, 2
    X = rng.normal(size=(N, D)) * [1.0, 2.0] + rng.integers(0, 3, size=(N, 1)) * 2.5
    resp = soft_assignment(rng, N, K) ** 2
    resp /= resp.sum(axis=1, keepdims=True)
    theta = gmm.m_step(X, resp, covariance_type, reg_covar=0.0)
    weights, means = np.array(theta.weights), np.array(theta.means)
    covariances = np.array(theta.covariances)

    def lagrangian(w, m, c):
        return q_direct(X, resp, w, m, expand(c, covariance_type, K, D)) + N * (1 - w.sum())

    symmetric = covariance_type in ("full", "tied")

    def central_difference(f, x, index, h, matrix=False):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        if matrix and index[-1] != index[-2]:
            # A covariance stays symmetric: move the mirrored entry too.
            mirror = index[:-2] + (index[-1], index[-2])
            up[mirror] += h
            down[mirror] -= h
        return (f(up) - f(down)) / (2 * h)

    h = 1e-5
    gradients = []
    for k in range(K):
        gradients.append(central_difference(lambda w: lagrangian(w, means, covariances),
                                             weights, (k,), h))
    for index in np.ndindex(means.shape):
        gradients.append(central_difference(lambda m: lagrangian(weights, m, covariances),
                                            means, index, h))
    for index in np.ndindex(covariances.shape):
        if symmetric and index[-1] < index[-2]:
            continue  # the upper triangle holds the free entries
        gradients.append(central_difference(lambda c: lagrangian(weights, means, c),
                                            covariances, index, h, matrix=symmetric))
    gradients = np.array(gradients)
    # Scale: a typical partial derivative of a single term is ~N per unit parameter; the
    # central difference is accurate to ~h^2 f''' + eps |Q| / h ~ 1e-7 here.
    assert np.max(np.abs(gradients)) < 1e-5, gradients
    # And moving the point does change the Lagrangian's slope: the check can fail.
    shifted = means + 0.1
    slope = central_difference(lambda m: lagrangian(weights, m, covariances), shifted, (0, 0), h)
    assert abs(slope) > 1e-2


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("fixed", [("weights",), ("means",), ("covariances",),
                                   ("weights", "means"), ("means", "covariances")])
def test_fixed_parameters_stay_fixed_and_others_update(covariance_type, fixed):
    rng = np.random.default_rng(6)
    N, K, D = 50, 2, 2
    X = rng.normal(size=(N, D))
    resp = soft_assignment(rng, N, K)
    full_fit = gmm.m_step(X, resp, covariance_type, reg_covar=0.0)
    current = gmm.Mixture(
        [0.3, 0.7], [[5.0, 5.0], [-5.0, 0.0]],
        {"full": [np.eye(2) * 4, np.eye(2) * 9], "tied": np.eye(2) * 4,
         "diag": [[4.0, 4.0], [9.0, 9.0]], "spherical": [4.0, 9.0]}[covariance_type],
        covariance_type,
    )
    theta = gmm.m_step(X, resp, covariance_type, reg_covar=0.0, fixed=fixed, current=current)
    counts, sums, moments = direct_statistics(X, resp)
    expected_means = current.means if "means" in fixed else sums / counts[:, None]
    for name in ("weights", "means", "covariances"):
        if name in fixed:
            np.testing.assert_array_equal(getattr(theta, name), getattr(current, name))
    if "weights" not in fixed:
        np.testing.assert_allclose(theta.weights, full_fit.weights, rtol=1e-12)
    if "means" not in fixed:
        np.testing.assert_allclose(theta.means, full_fit.means, rtol=1e-12)
    if "covariances" not in fixed:
        # The covariances are taken about the means in use (held ones when means are fixed).
        scatter = np.array([
            sum(resp[n, k] * np.outer(X[n] - expected_means[k], X[n] - expected_means[k])
                for n in range(N)) for k in range(K)
        ])
        expected = covariance_estimates(scatter, counts, N, covariance_type)
        np.testing.assert_allclose(theta.covariances, expected, rtol=1e-10)


def test_fixed_needs_current_and_known_names():
    X = np.random.default_rng(0).normal(size=(10, 2))
    resp = np.full((10, 2), 0.5)
    with pytest.raises(ValueError, match="current"):
        gmm.m_step(X, resp, fixed=("means",))
    with pytest.raises(ValueError, match="fixed may hold only"):
        gmm.m_step(X, resp, fixed=("colour",), current=None)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(25, 2))
    resp = soft_assignment(rng, 25, 3)
    counts = rng.integers(0, 4, size=25)
    counts[0] = 1
    weighted = gmm.m_step(X, resp, covariance_type, sample_weight=counts.astype(float))
    repeated = gmm.m_step(np.repeat(X, counts, axis=0), np.repeat(resp, counts, axis=0),
                          covariance_type)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name),
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_data_far_from_origin(covariance_type):
    # Mean 1e6, standard deviation 1: E[x^2] - E[x]^2 about the origin would lose about 12 of
    # the 16 digits. Compare with a two-pass computation on centred data.
    rng = np.random.default_rng(8)
    N, K, D = 400, 2, 2
    X = 1e6 + rng.normal(size=(N, D)) * [1.0, 0.5]
    resp = soft_assignment(rng, N, K)
    theta = gmm.m_step(X, resp, covariance_type, reg_covar=0.0)
    counts = resp.sum(axis=0)
    means = (resp.T @ X) / counts[:, None]  # first pass
    scatter = np.array([(resp[:, k, None] * (X - means[k])).T @ (X - means[k])
                        for k in range(K)])  # second pass, on centred data
    expected = covariance_estimates(scatter, counts, N, covariance_type)
    np.testing.assert_allclose(theta.means, means, rtol=1e-12)
    np.testing.assert_allclose(theta.covariances, expected, rtol=1e-6, atol=1e-6 * 0.25)
    # The naive formula about the origin really is wrong here (the test has teeth).
    naive = np.einsum("nk,nd,nd->kd", resp, X, X) / counts[:, None] - means**2
    exact_diagonal = np.array([np.diag(s) for s in scatter]) / counts[:, None]
    assert np.max(np.abs(naive - exact_diagonal) / exact_diagonal) > 1e-6


def test_data_far_from_origin_against_sklearn():
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    rng = np.random.default_rng(9)
    X = 1e6 + np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + [4.0, 0.0]])
    means_init = np.array([[1e6 - 0.5, 1e6], [1e6 + 4.5, 1e6]])
    theta0 = gmm.Mixture([0.5, 0.5], means_init, np.array([np.eye(2)] * 2))
    result = gmm.em(X, theta0, max_iter=1, tol=0.0, reg_covar=1e-6)
    sk = SkGaussianMixture(2, max_iter=1, tol=0.0, weights_init=[0.5, 0.5],
                           means_init=means_init, precisions_init=np.array([np.eye(2)] * 2))
    with pytest.warns(Warning):  # scikit-learn warns that one step did not converge
        sk.fit(X)
    np.testing.assert_allclose(result.mixture.covariances, sk.covariances_, rtol=1e-6)


def test_covariances_function_checks_type():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(20, 2))
    stats = gmm.sufficient_statistics(X, soft_assignment(rng, 20, 2), "diag")
    spherical = mstep.covariances(stats, mstep.means(stats), "spherical", reg_covar=0.0)
    diag = mstep.covariances(stats, mstep.means(stats), reg_covar=0.0)
    np.testing.assert_allclose(spherical, diag.mean(axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match="cannot estimate"):
        mstep.covariances(stats, mstep.means(stats), "full")
    with pytest.raises(ValueError, match="reg_covar"):
        mstep.covariances(stats, mstep.means(stats), reg_covar=-1.0)
