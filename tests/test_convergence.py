"""The EM map and the free-parameter vector (gmm/convergence.py): the vector has the
length of eq. (n-parameters) and holds the entries it says, the map is one EM step of
scikit-learn, and its Jacobian at a maximum gives the rate at which EM's error shrinks."""

import warnings

import numpy as np
import pytest
from oracles import TYPES, assert_relative, initial_parameters, random_mixture, synthetic_data
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gmm
from gmm.checks import numerical_jacobian
from gmm.convergence import em_map, free_parameters, mixture_from_free_parameters


def written_out(theta):
    """The free parameters listed by hand, loop by loop."""
    K, D = theta.n_components, theta.n_features
    entries = list(theta.weights[:K - 1]) + list(np.ravel(theta.means))
    covariances = np.asarray(theta.covariances)
    if theta.covariance_type in ("full", "tied"):
        matrices = covariances if theta.covariance_type == "full" else [covariances]
        for matrix in matrices:
            entries += [matrix[i, j] for i in range(D) for j in range(i, D)]
    else:
        entries += list(np.ravel(covariances))
    return np.array(entries)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_free_parameters_round_trip(covariance_type):
    rng = np.random.default_rng(3)
    theta = random_mixture(rng, covariance_type, 3, 4)
    vector = free_parameters(theta)
    assert vector.shape == (gmm.n_parameters(3, 4, covariance_type),)
    np.testing.assert_array_equal(vector, written_out(theta))
    back = mixture_from_free_parameters(vector, covariance_type, 3, 4)
    np.testing.assert_allclose(back.weights, theta.weights, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(back.means, theta.means)
    np.testing.assert_array_equal(back.covariances, theta.covariances)
    with pytest.raises(ValueError, match="free parameters"):
        mixture_from_free_parameters(vector[:-1], covariance_type, 3, 4)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_map_is_one_step_of_sklearn(covariance_type):
    X = synthetic_data()
    start = initial_parameters(covariance_type)
    theta = gmm.Mixture.from_precisions(start["weights_init"], start["means_init"],
                                        start["precisions_init"], covariance_type)
    sk = SkGaussianMixture(3, covariance_type=covariance_type, max_iter=1, tol=0.0, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkConvergenceWarning)
        sk.fit(X)
    step = em_map(X, theta)
    assert_relative(step.weights, sk.weights_, 1e-10)
    assert_relative(step.means, sk.means_, 1e-10)
    assert_relative(step.covariances, sk.covariances_, 1e-10)


def test_jacobian_at_the_maximum_gives_the_rate_of_the_errors():
    # Two overlapping 1-D groups: EM is slow (rate well above 0.5). Near the maximum the
    # error theta^(t) - theta* shrinks by the largest eigenvalue of dM/dtheta per step.
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0.0, 1.0, 300), rng.normal(3.0, 1.0, 200)])[:, None]
    start = gmm.Mixture([0.5, 0.5], [[-1.0], [3.0]], [1.0, 1.0], "spherical")
    run = gmm.em(X, start, tol=0.0, max_iter=1000, keep_history=True)
    optimum = run.mixture
    assert np.allclose(free_parameters(em_map(X, optimum)), free_parameters(optimum),
                       rtol=0, atol=1e-12)

    def step(vector):
        theta = mixture_from_free_parameters(vector, "spherical", 2, 1)
        return free_parameters(em_map(X, theta))

    rate = np.max(np.abs(np.linalg.eigvals(numerical_jacobian(step, free_parameters(optimum)))))
    errors = [np.linalg.norm(free_parameters(t) - free_parameters(optimum))
              for t in run.history]
    # The measured ratio of successive errors, where they are small but far above rounding.
    t = next(s for s, e in enumerate(errors) if e < 1e-4)
    assert 0.5 < rate < 1.0
    assert errors[t + 1] / errors[t] == pytest.approx(rate, rel=1e-3)
