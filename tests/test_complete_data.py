"""The complete-data log-likelihood, Q and the entropy of the responsibilities
(gmm/complete_data.py) against direct sums over scipy densities, and the identity
ln p(X | theta) = Q(theta, theta) + H(gamma)."""

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import TYPES, log_joint, random_mixture

import gmm

SETTINGS = settings(max_examples=30, deadline=None)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_complete_data_log_likelihood_is_a_direct_sum(covariance_type):
    rng = np.random.default_rng(0)
    theta = random_mixture(rng, covariance_type, 3, 2)
    X = rng.normal(scale=3, size=(40, 2))
    labels = rng.integers(0, 3, size=40)
    Z = np.eye(3)[labels]
    joint = log_joint(X, theta)
    expected = sum(joint[n, labels[n]] for n in range(40))
    assert gmm.complete_data_log_likelihood(X, Z, theta) == pytest.approx(expected, rel=1e-12)


def test_complete_data_log_likelihood_rejects_soft_assignments():
    theta = gmm.Mixture([0.5, 0.5], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    with pytest.raises(ValueError, match="one-hot"):
        gmm.complete_data_log_likelihood([[0.0]], [[0.5, 0.5]], theta)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), covariance_type=st.sampled_from(TYPES))
def test_q_function_is_a_direct_sum(seed, covariance_type):
    rng = np.random.default_rng(seed)
    theta_old = random_mixture(rng, covariance_type, 3, 2)
    theta = random_mixture(rng, covariance_type, 3, 2)
    X = rng.normal(scale=3, size=(30, 2))
    joint_old = log_joint(X, theta_old)
    resp = np.exp(joint_old - scipy.special.logsumexp(joint_old, axis=1, keepdims=True))
    expected = np.sum(resp * log_joint(X, theta))
    assert gmm.q_function(X, resp, theta) == pytest.approx(expected, rel=1e-10)


def test_entropy_against_scipy():
    rng = np.random.default_rng(1)
    resp = rng.dirichlet(np.ones(4), size=20)
    resp[0] = [1.0, 0.0, 0.0, 0.0]  # 0 ln 0 = 0
    expected = sum(scipy.stats.entropy(row) for row in resp)
    assert gmm.responsibility_entropy(resp) == pytest.approx(expected, rel=1e-12)
    assert gmm.responsibility_entropy(np.eye(3)) == 0.0


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), covariance_type=st.sampled_from(TYPES),
       K=st.integers(1, 4))
def test_log_likelihood_is_q_plus_entropy(seed, covariance_type, K):
    # ln p(X | theta) = Q(theta, theta) + H(gamma) for gamma the responsibilities under theta
    # (chapter 4, the decomposition behind the EM theorem).
    rng = np.random.default_rng(seed)
    theta = random_mixture(rng, covariance_type, K, 2)
    X = rng.normal(scale=3, size=(30, 2))
    resp = gmm.responsibilities(X, theta)
    total = gmm.q_function(X, resp, theta) + gmm.responsibility_entropy(resp)
    assert total == pytest.approx(gmm.log_likelihood(X, theta), rel=1e-10, abs=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), covariance_type=st.sampled_from(TYPES))
def test_m_step_does_not_lower_q(seed, covariance_type):
    rng = np.random.default_rng(seed)
    theta_old = random_mixture(rng, covariance_type, 3, 2)
    X = rng.normal(scale=3, size=(40, 2))
    resp = gmm.responsibilities(X, theta_old)
    theta_new = gmm.m_step(X, resp, covariance_type, reg_covar=0.0)
    q_old = gmm.q_function(X, resp, theta_old)
    q_new = gmm.q_function(X, resp, theta_new)
    assert q_new >= q_old - 1e-9 * abs(q_old)


@pytest.mark.parametrize(
    ("resp", "phrase"),
    [
        ([[0.5, 0.6]], "sum to 1"),
        ([[1.5, -0.5]], "non-negative"),
        ([[np.nan, 1.0]], "finite"),
        ([[1.0, 0.0, 0.0]], "shape"),
    ],
)
def test_q_function_rejects_bad_responsibilities(resp, phrase):
    theta = gmm.Mixture([0.5, 0.5], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    with pytest.raises(ValueError, match=phrase):
        gmm.q_function([[0.0]], resp, theta)
