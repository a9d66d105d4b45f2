"""Bad input: every case gets a ValueError whose message names the
problem, and no input array is mutated, whether the call fails or succeeds."""

import copy

import numpy as np
import pytest

import gmm

RNG = np.random.default_rng(0)
GOOD_X = np.vstack([RNG.normal(size=(30, 2)), RNG.normal(size=(30, 2)) + 4.0])


def assert_fit_fails(phrase, X=GOOD_X, sample_weight=None, **settings):
    inputs = {"X": X, "sample_weight": sample_weight, **settings}
    before = copy.deepcopy(inputs)
    with pytest.raises(ValueError, match=phrase):
        gmm.GaussianMixture(**{"n_components": 2, **settings}).fit(
            X, sample_weight=sample_weight)
    assert_unchanged(before, inputs)


def assert_unchanged(before, after):
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value, err_msg=name)
        else:
            assert after[name] == value or (value is None and after[name] is None), name


def with_value(value, row=3, column=1):
    X = GOOD_X.copy()
    X[row, column] = value
    return X


@pytest.mark.parametrize(
    ("X", "phrase"),
    [
        (with_value(np.nan), r"NaN or infinity \(first at row 3, column 1\)"),
        (with_value(np.inf), "NaN or infinity"),
        (with_value(-np.inf, 0, 0), r"row 0, column 0"),
        (GOOD_X[:, 0], r"1-D array.*reshape\(-1, 1\)"),
        (GOOD_X[None], "must be 2-D.*3-D"),
        (np.empty((0, 2)), r"empty: found 0 sample\(s\)"),
        (np.empty((5, 0)), r"empty: found 0 feature\(s\)"),
        (GOOD_X[:1], r"1 samples, but at least 2 are needed"),
        (np.array([["a", "b"], ["c", "d"]]), "must be numeric"),
        ([[1.0, 2.0], [3.0]], "must be numeric"),
        (GOOD_X + 1j, "Complex data not supported"),
    ],
)
def test_bad_X(X, phrase):
    assert_fit_fails(phrase, X=X)


def test_non_numeric_is_both_value_and_type_error():
    with pytest.raises(TypeError, match="must be numeric"):
        gmm.GaussianMixture().fit([[{"a": 1}, 2.0]])


def test_sparse_X():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(ValueError, match="sparse input is not supported.*toarray"):
        gmm.GaussianMixture().fit(sparse.csr_matrix(GOOD_X))


@pytest.mark.parametrize(
    ("settings", "phrase"),
    [
        ({"n_components": 0}, "n_components must be an integer >= 1"),
        ({"n_components": -2}, "n_components must be an integer >= 1"),
        ({"n_components": 1.5}, "n_components must be an integer >= 1"),
        ({"covariance_type": "round"}, "Unknown covariance_type 'round'"),
        ({"init_params": "magic"}, "Unknown init_params 'magic'"),
        ({"reg_covar": -1e-6}, "reg_covar must be a non-negative number"),
        ({"tol": -1.0}, "tol must be a non-negative number"),
        ({"max_iter": -1}, "max_iter must be an integer >= 0"),
        ({"n_init": 0}, "n_init must be an integer >= 1"),
        ({"random_state": "seed"}, "random_state must be None, an int"),
        ({"weights_init": np.array([1.5, -0.5])}, r"weights_init must be in \[0, 1\]"),
        ({"weights_init": np.array([0.5, 0.6])}, "weights_init must sum to 1"),
        ({"weights_init": np.array([1.0])}, r"weights_init must have shape \(2,\)"),
        ({"means_init": np.zeros((3, 2))}, r"means_init must have shape \(2, 2\)"),
        ({"means_init": np.zeros((2, 3))}, r"means_init must have shape \(2, 2\)"),
        ({"means_init": np.array([[0.0, np.nan], [1.0, 1.0]])}, "means_init contains NaN"),
        ({"precisions_init": np.array([np.eye(2)] * 3)}, "precisions_init .*must have shape"),
        ({"precisions_init": np.array([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]])},
         r"precisions_init\[1\] \(component 2\) is not symmetric"),
        ({"precisions_init": np.array([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]])},
         "precisions_init must be symmetric positive definite"),
        ({"covariance_type": "tied", "precisions_init": np.array([[1.0, 0.0], [0.0, -1.0]])},
         "precisions_init must be symmetric positive definite"),
        ({"covariance_type": "diag", "precisions_init": np.array([[1.0, 1.0], [0.0, 1.0]])},
         "precisions_init must be symmetric positive definite"),
        ({"covariance_type": "spherical", "precisions_init": np.array([1.0, -1.0])},
         "precisions_init must be symmetric positive definite"),
    ],
)
def test_bad_settings(settings, phrase):
    assert_fit_fails(phrase, **settings)


@pytest.mark.parametrize(
    ("sample_weight", "phrase"),
    [
        (-np.ones(60), "sample_weight must be non-negative"),
        (np.r_[np.ones(59), -1.0], r"non-negative; got -1.0 at index 59"),
        (np.zeros(60), "sample_weight is zero for every sample"),
        (np.ones(59), r"sample_weight must have shape \(60,\)"),
        (np.r_[np.ones(59), np.nan], "sample_weight contains NaN"),
    ],
)
def test_bad_sample_weight(sample_weight, phrase):
    assert_fit_fails(phrase, sample_weight=sample_weight)


def test_successful_calls_do_not_mutate_inputs():
    X = GOOD_X.copy()
    sample_weight = RNG.uniform(0.5, 2.0, size=60)
    settings = {"weights_init": np.array([0.5, 0.5]),
                "means_init": np.array([[0.0, 0.0], [4.0, 4.0]]),
                "precisions_init": np.array([np.eye(2), np.eye(2)])}
    before = copy.deepcopy({"X": X, "sample_weight": sample_weight, **settings})
    model = gmm.GaussianMixture(2, **settings).fit(X, sample_weight=sample_weight)
    model.predict(X)
    model.score_samples(X)
    theta = model.mixture_
    resp = gmm.responsibilities(X, theta)
    resp_before = resp.copy()
    gmm.m_step(X, resp, sample_weight=sample_weight)
    gmm.em(X, theta, sample_weight=sample_weight, max_iter=3)
    gmm.kmeans(X, 2, sample_weight=sample_weight, random_state=0)
    gmm.q_function(X, resp, theta)
    gmm.responsibility_entropy(resp)
    assert_unchanged(before, {"X": X, "sample_weight": sample_weight, **settings})
    np.testing.assert_array_equal(resp, resp_before)


def test_predict_checks_features_and_fit():
    model = gmm.GaussianMixture(2, random_state=0).fit(GOOD_X)
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 2"):
        model.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.score_samples(with_value(np.nan))
    with pytest.raises(ValueError, match="not fitted yet"):
        gmm.GaussianMixture().score(GOOD_X)


@pytest.mark.parametrize(
    ("arguments", "phrase"),
    [
        ({"weights": [0.5, 0.6]}, "weights must sum to 1"),
        ({"weights": [1.5, -0.5]}, "weights must be non-negative"),
        ({"weights": [1.0]}, r"weights must have shape \(2,\)"),
        ({"means": [0.0, 1.0]}, "means must have shape"),
        ({"means": [[0.0, np.inf], [1.0, 1.0]]}, "finite"),
        ({"covariances": [np.eye(2), -np.eye(2)]}, "component 2 is not positive definite"),
        ({"covariances": np.eye(2)}, "covariances for covariance_type='full' must have shape"),
        ({"covariance_type": "oval"}, "Unknown covariance_type"),
        ({"weights": ["a", "b"]}, "numeric"),
    ],
)
def test_mixture_validation(arguments, phrase):
    good = {"weights": [0.5, 0.5], "means": [[0.0, 0.0], [1.0, 1.0]],
            "covariances": [np.eye(2), np.eye(2)]}
    with pytest.raises(ValueError, match=phrase):
        gmm.Mixture(**{**good, **arguments})


def test_mixture_is_frozen_and_copies_its_inputs():
    weights = np.array([0.5, 0.5])
    theta = gmm.Mixture(weights, [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    weights[0] = 0.9
    assert theta.weights[0] == 0.5
    with pytest.raises(ValueError):
        theta.weights[0] = 0.1  # read-only array
    with pytest.raises(ValueError, match="permutation"):
        theta.permuted([0, 0])
    with pytest.raises(ValueError, match="no parameter"):
        theta.replace(colour=1)


def test_functions_check_feature_count():
    theta = gmm.Mixture([1.0], [[0.0, 0.0]], [np.eye(2)])
    for function in (gmm.log_gaussian_density, gmm.log_marginal, gmm.responsibilities,
                     gmm.log_likelihood):
        with pytest.raises(ValueError, match="X has 3 features, but theta is expecting 2"):
            function(np.zeros((2, 3)), theta)
