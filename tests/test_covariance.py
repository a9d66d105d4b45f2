"""The four covariance types (gmm/covariance.py) against direct numpy linear algebra:
inverses and determinants from numpy.linalg, parameter counts by enumerating free entries,
M-step estimates from explicit loops over the points."""

import numpy as np
import pytest
import scipy.stats
from oracles import TYPES, covariance_estimates, expand

import gmm
from gmm.covariance import COVARIANCE_TYPES, get_covariance_type


def random_covariances(rng, covariance_type, K, D):
    if covariance_type == "full":
        A = rng.normal(size=(K, D, D))
        return A @ A.transpose(0, 2, 1) + 0.5 * np.eye(D)
    if covariance_type == "tied":
        A = rng.normal(size=(D, D))
        return A @ A.T + 0.5 * np.eye(D)
    if covariance_type == "diag":
        return rng.uniform(0.3, 2.0, size=(K, D))
    return rng.uniform(0.3, 2.0, size=K)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_precision_cholesky_gives_inverse_and_log_determinant(covariance_type):
    rng = np.random.default_rng(0)
    K, D = 3, 4
    covariances = random_covariances(rng, covariance_type, K, D)
    kind = get_covariance_type(covariance_type)
    factor = kind.precisions_cholesky(covariances)
    assert factor.shape == covariances.shape
    full = expand(covariances, covariance_type, K, D)
    # The precision in the type's layout, expanded, is numpy's inverse of each matrix.
    precisions = expand(kind.precisions(factor), covariance_type, K, D)
    np.testing.assert_allclose(precisions, np.linalg.inv(full), rtol=1e-10, atol=1e-12)
    # sum ln diag(P) = -1/2 ln |Sigma|
    log_det = np.broadcast_to(kind.log_det_precisions_cholesky(factor, D), (K,))
    np.testing.assert_allclose(log_det, -0.5 * np.linalg.slogdet(full)[1], rtol=1e-12)
    # Round trip through precisions (scikit-learn's precisions_init).
    back = kind.covariances_from_precisions(kind.precisions(factor))
    np.testing.assert_allclose(back, covariances, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_squared_mahalanobis_against_solve(covariance_type):
    rng = np.random.default_rng(1)
    K, D, N = 3, 3, 50
    covariances = random_covariances(rng, covariance_type, K, D)
    means = rng.normal(size=(K, D))
    X = rng.normal(scale=2, size=(N, D))
    kind = get_covariance_type(covariance_type)
    distances = kind.squared_mahalanobis(X, means, kind.precisions_cholesky(covariances))
    full = expand(covariances, covariance_type, K, D)
    expected = np.empty((N, K))
    for k in range(K):
        diff = X - means[k]
        expected[:, k] = np.einsum("nd,nd->n", diff, np.linalg.solve(full[k], diff.T).T)
    np.testing.assert_allclose(distances, expected, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_to_full_and_shape(covariance_type):
    rng = np.random.default_rng(2)
    K, D = 2, 3
    covariances = random_covariances(rng, covariance_type, K, D)
    kind = COVARIANCE_TYPES[covariance_type]
    assert kind.shape(K, D) == covariances.shape
    np.testing.assert_array_equal(
        kind.to_full(covariances, K, D), expand(covariances, covariance_type, K, D)
    )


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize(("K", "D"), [(1, 1), (2, 3), (4, 2), (3, 5)])
def test_n_parameters_counts_free_entries(covariance_type, K, D):
    # Count the free covariance entries by enumeration: a symmetric matrix is fixed by its
    # upper triangle, a diagonal one by its diagonal, a spherical one by one number.
    upper = len(list(zip(*np.triu_indices(D), strict=True)))
    expected = {"full": K * upper, "tied": upper, "diag": K * D, "spherical": K}
    assert COVARIANCE_TYPES[covariance_type].n_parameters(K, D) == expected[covariance_type]


@pytest.mark.parametrize("covariance_type", TYPES)
def test_estimate_against_loop_over_points(covariance_type):
    rng = np.random.default_rng(3)
    N, K, D = 40, 3, 2
    X = rng.normal(size=(N, D)) * [1.0, 3.0] + [2.0, -1.0]
    resp = rng.dirichlet(np.ones(K), size=N)
    stats = gmm.sufficient_statistics(X, resp, covariance_type)
    means = rng.normal(size=(K, D))  # any means: the estimate is about the given means
    estimate = COVARIANCE_TYPES[covariance_type].estimate(stats, means, 0.0)
    scatter = np.zeros((K, D, D))
    counts = np.zeros(K)
    for n in range(N):
        for k in range(K):
            diff = X[n] - means[k]
            scatter[k] += resp[n, k] * np.outer(diff, diff)
            counts[k] += resp[n, k]
    expected = covariance_estimates(scatter, counts, N, covariance_type)
    np.testing.assert_allclose(estimate, expected, rtol=1e-10)
    # reg_covar is added to the diagonal only.
    regularised = COVARIANCE_TYPES[covariance_type].estimate(stats, means, 0.25)
    added = expand(regularised, covariance_type, K, D) - expand(estimate, covariance_type, K, D)
    np.testing.assert_allclose(added, np.broadcast_to(0.25 * np.eye(D), added.shape),
                               atol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_check_rejects_wrong_shape(covariance_type):
    rng = np.random.default_rng(4)
    covariances = random_covariances(rng, covariance_type, 3, 2)
    with pytest.raises(ValueError, match="must have shape"):
        COVARIANCE_TYPES[covariance_type].check(covariances, 2, 3, "covariances")


@pytest.mark.parametrize(
    ("covariance_type", "covariances", "phrase"),
    [
        ("full", [[[1.0, 0.5], [0.4, 1.0]]], "not symmetric"),
        ("full", [[[1.0, 2.0], [2.0, 1.0]]], "not positive definite"),
        ("tied", [[1.0, 0.0], [0.1, 1.0]], "not symmetric"),
        ("tied", [[0.0, 0.0], [0.0, 1.0]], "not positive definite"),
        ("diag", [[1.0, -1.0]], "must be positive"),
        ("spherical", [0.0], "must be positive"),
        ("full", [[[np.nan, 0.0], [0.0, 1.0]]], "NaN"),
    ],
)
def test_check_rejects_invalid_matrices(covariance_type, covariances, phrase):
    K = 1
    with pytest.raises(ValueError, match=phrase):
        COVARIANCE_TYPES[covariance_type].check(np.array(covariances), K, 2, "covariances")


def test_precisions_cholesky_names_collapsed_component():
    # Components are numbered from 1 in messages, as in the book's prose.
    covariances = np.array([np.eye(2), [[1.0, 1.0], [1.0, 1.0]]])  # the second is singular
    with pytest.raises(ValueError, match=r"component 2 .*reg_covar"):
        COVARIANCE_TYPES["full"].precisions_cholesky(covariances)
    with pytest.raises(ValueError, match=r"component 1 .*reg_covar"):
        COVARIANCE_TYPES["diag"].precisions_cholesky(np.array([[0.0, 1.0], [1.0, 1.0]]))


def test_unknown_type():
    with pytest.raises(ValueError, match="Unknown covariance_type 'banana'"):
        get_covariance_type("banana")
    assert get_covariance_type(COVARIANCE_TYPES["tied"]) is COVARIANCE_TYPES["tied"]


# -- a covariance type added in one class ---------------------------------------------------


class SharedSphericalCovariance(gmm.CovarianceType):
    """A toy type: one variance ``sigma^2`` shared by every component, ``Sigma_k = sigma^2 I``
    (one free parameter). Everything gmm needs to know about it is here; nothing else in the
    library is told about it."""

    name = "shared_spherical"
    statistics_layout = "pooled"
    engine_features = "none"
    _tied = COVARIANCE_TYPES["tied"]

    def shape(self, n_components, n_features):
        return ()

    def n_parameters(self, n_components, n_features):
        return 1

    def estimate(self, statistics, means, reg_covar):
        tied = self._tied.estimate(statistics, means, reg_covar)
        return np.trace(tied) / means.shape[1]

    def precisions_cholesky(self, covariances):
        if not covariances > 0:
            raise ValueError("the shared variance is not positive")
        return 1.0 / np.sqrt(covariances)

    def log_det_precisions_cholesky(self, precisions_cholesky, n_features):
        return n_features * np.log(precisions_cholesky)

    def squared_mahalanobis(self, X, means, precisions_cholesky):
        return ((X[:, None, :] - means[None]) ** 2).sum(axis=2) * precisions_cholesky**2

    def to_full(self, covariances, n_components, n_features):
        return np.repeat((covariances * np.eye(n_features))[None], n_components, axis=0)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky**2

    def covariances_from_precisions(self, precisions):
        return 1.0 / precisions

    def relative_variances(self, covariances, spread, floor):
        D = spread.shape[0]
        return self._tied.relative_variances(covariances * np.eye(D), spread, floor)

    def permuted(self, covariances, order):
        return covariances

    def recentred_moments(self, moments, sums, counts, delta):
        return self._tied.recentred_moments(moments, sums, counts, delta)

    def moments_from_full(self, full_moments):
        return full_moments.sum(axis=0)

    def pooled_second_moments(self, second_moments):
        return np.array(second_moments)

    def second_moments_of(self, weighted_resp, centred):
        return self._tied.second_moments_of(weighted_resp, centred)

    def shared_quadratic_factor(self, precisions_cholesky, n_features):
        return float(precisions_cholesky) * np.eye(n_features)

    def engine_precisions(self, precisions_cholesky, n_components, n_features):
        return np.broadcast_to(precisions_cholesky**2 * np.eye(n_features),
                               (n_components, n_features, n_features))

    def full_precision_factors(self, precisions_cholesky, n_components, n_features):
        return np.broadcast_to(precisions_cholesky * np.eye(n_features),
                               (n_components, n_features, n_features))


@pytest.fixture
def shared_spherical(monkeypatch):
    monkeypatch.setitem(COVARIANCE_TYPES, "shared_spherical", SharedSphericalCovariance())


@pytest.mark.parametrize("formulation", ["quadratic", "factors"])
def test_a_new_type_touches_one_class(shared_spherical, formulation, monkeypatch):
    import gmm._engine as engine

    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) * 1.3 + 4.0])
    original = engine.em_iteration
    monkeypatch.setattr(gmm.algorithm, "em_iteration", lambda *a, **k: original(
        *a, **{**k, "formulation": k.get("formulation") or formulation}))
    model = gmm.GaussianMixture(2, covariance_type="shared_spherical", random_state=0).fit(X)
    assert model.converged_ and model.covariances_.shape == ()
    # The M-step by hand: sigma^2 = sum_nk gamma_nk ||x_n - mu_k||^2 / (N D) + reg_covar.
    theta = model.mixture_
    gamma = gmm.responsibilities(X, theta)
    means = gamma.T @ X / gamma.sum(axis=0)[:, None]
    variance = sum(gamma[:, k] @ ((X - means[k]) ** 2).sum(axis=1) for k in range(2))
    step = gmm.em(X, theta, max_iter=1, tol=0.0)
    assert float(step.mixture.covariances) == pytest.approx(variance / X.size + 1e-6, rel=1e-9)
    # Its densities by scipy, its parameter count, a sample, a degeneracy verdict.
    expected = np.log(sum(w * scipy.stats.multivariate_normal(m, theta.covariances).pdf(X)
                          for w, m in zip(theta.weights, theta.means, strict=True)))
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    assert gmm.n_parameters(2, 3, "shared_spherical") == 1 + 6 + 1
    assert model.sample(5)[0].shape == (5, 3)
    assert not gmm.is_degenerate(theta)
    assert model.bic(X) == pytest.approx(-2 * expected.sum() + 8 * np.log(len(X)), rel=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("shrink", [1.0, 1e-6, 1e-11, 1e-13, 0.0])
def test_surely_above_is_never_wrong(covariance_type, shrink):
    # The cheap collapse test (a Cholesky of Sigma_k - rtol S) may only say "above" when
    # the relative variances, computed by generalised eigenvalues, are above rtol; a
    # component shrunk to 1e-13 of the data's spread in one direction must not pass.
    rng = np.random.default_rng(4)
    K, D, rtol = 3, 5, 1e-12
    kind = get_covariance_type(covariance_type)
    covariances = random_covariances(rng, covariance_type, K, D)
    A = rng.normal(size=(D, D))
    spread = kind.spread_layout(A @ A.T + 0.1 * np.eye(D))
    if covariance_type in ("full", "tied"):
        v = rng.normal(size=D)
        v /= np.linalg.norm(v)
        # Sigma -> Sigma restricted away from v, plus shrink * (its variance along v).
        first = covariances if covariance_type == "tied" else covariances[0]
        squeeze = np.eye(D) - (1.0 - np.sqrt(shrink)) * np.outer(v, v)
        first[...] = squeeze @ first @ squeeze
    else:
        covariances = covariances.copy()
        covariances[0] = covariances[0] * shrink
    ratios = kind.relative_variances(covariances, spread, 0.0)
    if kind.surely_above(covariances, spread, rtol):
        assert np.all(ratios > rtol)
    if shrink == 1.0 and covariance_type in ("full", "tied"):
        assert kind.surely_above(covariances, spread, rtol)  # the cheap path is taken
    if shrink <= 1e-13:
        assert not kind.surely_above(covariances, spread, rtol)
        assert ratios.min() <= 1e-12
