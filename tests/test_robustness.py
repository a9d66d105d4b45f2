"""gmm on data that is not Old Faithful: one regression test (or more) per failure an
outside review found. Each test failed on the code before the fix; the expected values
come from scikit-learn, from the same fit in other units or at another origin, or from
scipy and numpy computed independently."""

import copy
import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.linalg
from oracles import TYPES
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gmm

# Every test here runs on the numpy code and on the compiled kernels (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("kernels")

# -- 1. collapse judged against the data's own spread -------------------------------------


def test_mixed_units_full_with_a_constant_feature():
    # Dollars next to a constant: scikit-learn fits it, and so must gmm.
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(0, 2000, 500), np.ones(500)]
    model = gmm.GaussianMixture(1).fit(X)
    sk = SkGaussianMixture(1).fit(X)
    np.testing.assert_allclose(model.means_, sk.means_, rtol=1e-10)
    np.testing.assert_allclose(model.covariances_, sk.covariances_, rtol=1e-8, atol=1e-12)


def test_mixed_units_diag():
    # Income in dollars next to an interest rate.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 2)) * [1e4, 5e-3]
    model = gmm.GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    assert model.converged_
    assert np.all(np.isfinite(model.score_samples(X)))


def scaled_start(theta, s, b):
    """theta in the units x -> x * s + b (s a vector: one factor per feature)."""
    kind = theta.covariance_type
    covariances = {
        "full": lambda: theta.covariances * np.outer(s, s),
        "tied": lambda: theta.covariances * np.outer(s, s),
        "diag": lambda: theta.covariances * s**2,
        "spherical": lambda: theta.covariances * s[0] ** 2,
    }[kind]()
    return gmm.Mixture(theta.weights, theta.means * s + b, covariances, kind)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1e3, 1e6])
def test_em_is_equivariant_under_feature_rescaling(covariance_type, scale):
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(150, 2)), rng.normal(size=(100, 2)) + [3.0, 2.0]])
    theta0 = gmm.Mixture([0.5, 0.5], [[0.5, 0.0], [2.0, 2.5]],
                         {"full": [np.eye(2)] * 2, "tied": np.eye(2),
                          "diag": np.ones((2, 2)), "spherical": np.ones(2)}[covariance_type],
                         covariance_type)
    # Spherical covariances cannot follow a different factor per feature: one factor.
    spherical = covariance_type == "spherical"
    s = np.array([scale, scale]) if spherical else np.array([scale, 1.0 / scale])
    b = np.array([1e3, -7.0]) * s
    base = gmm.em(X, theta0, reg_covar=0.0, tol=1e-10, max_iter=50)
    moved = gmm.em(X * s + b, scaled_start(theta0, s, b), reg_covar=0.0, tol=1e-10,
                   max_iter=50)
    assert moved.n_iter == base.n_iter
    np.testing.assert_allclose(np.exp(moved.log_resp), np.exp(base.log_resp), atol=1e-8)
    np.testing.assert_allclose((moved.mixture.means - b) / s, base.mixture.means, rtol=1e-7,
                               atol=1e-7)


def test_is_degenerate_is_scale_free():
    # The same mixtures in other units give the same verdicts; the verdicts agree with the
    # generalised eigenvalues of (Sigma_k - reg I, S) from scipy, S the mixture's covariance
    # less reg I.
    rng = np.random.default_rng(3)
    healthy = gmm.Mixture([0.5, 0.5], [[0.0, 0.0], [3.0, 1.0]],
                          [[[1.0, 0.3], [0.3, 0.5]], np.eye(2)])
    flat = healthy.replace(covariances=[[[1.0, 0.3], [0.3, 0.5]],
                                        [[1.0, 1.0 - 1e-11], [1.0 - 1e-11, 1.0]]])
    for theta, expected in ((healthy, False), (flat, True)):
        spread = sum(w * (c + np.outer(m - theta.weights @ theta.means,
                                       m - theta.weights @ theta.means))
                     for w, c, m in zip(theta.weights, theta.covariances, theta.means,
                                        strict=True))
        smallest = min(scipy.linalg.eigh(c, spread, eigvals_only=True)[0]
                       for c in theta.covariances)
        assert (smallest <= 1e-8) == expected
        for _ in range(5):
            s = 10.0 ** rng.uniform(-6, 6, size=2)
            assert gmm.is_degenerate(scaled_start(theta, s, 0.0), reg_covar=0.0) == expected


# -- 2. data far from the origin ----------------------------------------------------------


def two_clusters(offset, seed=4):
    rng = np.random.default_rng(seed)
    truth = np.repeat([0, 1], 200)
    X = rng.normal(size=(400, 2)) + 6.0 * truth[:, None] + offset
    return X, truth


def test_fit_far_from_the_origin():
    X, truth = two_clusters(1e9)
    model = gmm.GaussianMixture(2, random_state=0).fit(X)
    assert model.converged_
    assert adjusted_rand_score(truth, model.predict(X)) == 1.0
    near, _ = two_clusters(0.0)
    reference = gmm.GaussianMixture(2, random_state=0).fit(near)
    # Same clusters; means the same up to the offset and the data's rounding (1e9 * eps).
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(model.means_[order] - 1e9,
                               reference.means_[np.argsort(reference.means_[:, 0])], atol=1e-5)


@pytest.mark.parametrize("offset", [1e6, 1e10])
def test_kmeans_is_translation_invariant(offset):
    X, truth = two_clusters(0.0)
    centers, labels, inertia = gmm.kmeans(X, 2, random_state=0)
    far_centers, far_labels, far_inertia = gmm.kmeans(X + offset, 2, random_state=0)
    np.testing.assert_array_equal(far_labels, labels)
    # Independent: the objective recomputed from the labels, about each cluster's mean.
    by_hand = sum(np.sum((X[labels == k] - X[labels == k].mean(axis=0)) ** 2) for k in (0, 1))
    assert inertia == pytest.approx(by_hand, rel=1e-10)
    # At the offset the data themselves are rounded to offset * eps.
    assert far_inertia == pytest.approx(by_hand, rel=1e-3 if offset > 1e8 else 1e-8)
    np.testing.assert_allclose(far_centers - offset, centers, atol=offset * 1e-15 * 10)


# -- 3. a collapse hidden by the Cholesky pivots ------------------------------------------


def test_collapse_judged_by_the_eigenvalue():
    # Component 1 is held at the origin and its points lie in a tilted plane through it:
    # its covariance becomes singular in a direction no coordinate pivot sees. The old test
    # returned converged=True with a condition number of 3e15.
    rng = np.random.default_rng(41)
    normal = rng.normal(size=3)
    normal /= np.linalg.norm(normal)
    A = rng.normal(size=(4, 3))
    A -= np.outer(A @ normal, normal)
    B = rng.normal(size=(4, 3)) + 4
    X = np.vstack([A, B])
    theta0 = gmm.Mixture([0.5, 0.5], [np.zeros(3), B.mean(0)], [np.eye(3), np.eye(3)])
    with pytest.raises(gmm.ComponentCollapseError, match="Component 1 collapsed") as error:
        gmm.em(X, theta0, reg_covar=0.0, fixed=("weights", "means"), max_iter=100)
    assert error.value.component == 0


# -- 4. float32 ----------------------------------------------------------------------------


def test_float32_weights_init_accepted():
    X = np.random.default_rng(5).normal(size=(60, 2))
    gmm.GaussianMixture(3, weights_init=np.float32([0.2, 0.3, 0.5]), random_state=0).fit(X)
    rng = np.random.default_rng(6)
    for _ in range(200):
        weights = rng.dirichlet(np.ones(3)).astype(np.float32)
        gmm.Mixture(weights, np.zeros((3, 2)), np.ones(3), "spherical")


def test_mixture_accepts_float32_covariances():
    # A float32 fit's covariances are symmetric only to float32 rounding.
    rng = np.random.default_rng(7)
    A = rng.normal(size=(2, 3, 3))
    covariances = A @ A.transpose(0, 2, 1) + np.eye(3)
    noisy = (covariances * (1 + 1e-7 * rng.normal(size=covariances.shape))).astype(np.float32)
    assert not np.array_equal(noisy, noisy.transpose(0, 2, 1))
    theta = gmm.Mixture(np.float32([0.5, 0.5]), np.zeros((2, 3), np.float32), noisy)
    np.testing.assert_array_equal(theta.covariances, theta.covariances.transpose(0, 2, 1))
    with pytest.raises(ValueError, match="not symmetric"):
        gmm.Mixture([0.5, 0.5], np.zeros((2, 3)), noisy.astype(np.float64) + 1e-3 * A)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_float32_fit_gives_float32_attributes(covariance_type):
    X, _ = two_clusters(0.0)
    model32 = gmm.GaussianMixture(2, covariance_type=covariance_type, random_state=0,
                                  tol=1e-6).fit(X.astype(np.float32))
    model64 = gmm.GaussianMixture(2, covariance_type=covariance_type, random_state=0,
                                  tol=1e-6).fit(X.astype(np.float32).astype(np.float64))
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(model32, name).dtype == np.float32, name
        np.testing.assert_allclose(getattr(model32, name), getattr(model64, name),
                                   rtol=1e-5, atol=1e-6)
    sk = SkGaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(
        X.astype(np.float32))
    assert sk.means_.dtype == model32.means_.dtype


# -- 5. the scale of the sample weights ------------------------------------------------------


@pytest.mark.parametrize("c", [1e-15, 1e-20, 1e15])
def test_sample_weight_scale_does_not_matter(c):
    X, _ = two_clusters(0.0)
    w = np.random.default_rng(8).uniform(0.5, 2.0, size=len(X))
    start = {"means_init": [[0.0, 0.0], [5.0, 5.0]], "tol": 1e-8}
    base = gmm.GaussianMixture(2, **start).fit(X, sample_weight=w)
    scaled = gmm.GaussianMixture(2, **start).fit(X, sample_weight=c * w)
    np.testing.assert_allclose(scaled.means_, base.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(scaled.covariances_, base.covariances_, rtol=1e-9)
    assert scaled.n_iter_ == base.n_iter_


# -- 6. all-zero responsibilities ----------------------------------------------------------


def test_all_zero_responsibilities_raise_a_clear_error():
    X = np.random.default_rng(9).normal(size=(10, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way
        with pytest.raises(ValueError, match="resp is zero for every point"):
            gmm.sufficient_statistics(X, np.zeros((10, 2)))
        resp = np.c_[np.ones(10), np.zeros(10)]
        with pytest.raises(ValueError, match=r"Component 2 has no responsibility"):
            gmm.m_step(X, resp)


# -- 7. copies and hand-set attributes -----------------------------------------------------


@pytest.mark.parametrize("duplicate", [lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy])
def test_copies_stay_read_only(duplicate):
    X, _ = two_clusters(0.0)
    model = gmm.GaussianMixture(2, random_state=0).fit(X)
    twin = duplicate(model)
    for theta in (duplicate(model.mixture_), twin.mixture_):
        for array in (theta.weights, theta.means, theta.covariances, theta.precisions_cholesky):
            assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        twin.means_[0, 0] = 100.0
    assert twin.score(X) == model.score(X)


def test_hand_set_attributes_are_used():
    X, _ = two_clusters(0.0)
    model = gmm.GaussianMixture(2, random_state=0).fit(X)
    new_means = model.means_ + 1.0
    model.means_ = new_means
    theta = gmm.Mixture(model.weights_, new_means, model.covariances_)
    assert model.score(X) == pytest.approx(gmm.log_likelihood(X, theta) / len(X), rel=1e-12)
    model.precisions_ = np.linalg.inv(2.0 * theta.covariances)
    np.testing.assert_allclose(model.covariances_, 2.0 * theta.covariances, rtol=1e-12)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        model.weights_ = [0.9, 0.9]


# -- 8. scikit-learn's own expectations ----------------------------------------------------


def test_warm_start_continues_from_the_previous_lower_bound():
    X, _ = two_clusters(0.0)
    model = gmm.GaussianMixture(2, warm_start=True, max_iter=1, random_state=0, tol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkConvergenceWarning)
        for _ in range(30):
            model.fit(X)
            if model.converged_:
                break
    assert model.converged_
    assert len(model.lower_bounds_) == model.n_iter_ == 1


def test_lower_bounds_match_sklearn():
    X, _ = two_clusters(0.0)
    start = {"weights_init": [0.4, 0.6], "means_init": [[0.0, 0.0], [5.0, 5.0]],
             "precisions_init": [np.eye(2), 0.5 * np.eye(2)], "tol": 1e-6}
    model = gmm.GaussianMixture(2, **start).fit(X)
    sk = SkGaussianMixture(2, **start).fit(X)
    assert len(model.lower_bounds_) == len(sk.lower_bounds_) == model.n_iter_
    np.testing.assert_allclose(model.lower_bounds_, sk.lower_bounds_, rtol=1e-9)


def test_n_init_sets_a_collapsed_start_aside(monkeypatch):
    X, _ = two_clusters(0.0)
    original = gmm.estimator.em
    calls = []

    def collapse_first(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise gmm.ComponentCollapseError("Component 1 collapsed", component=0, iteration=3)
        return original(*args, **kwargs)

    monkeypatch.setattr(gmm.estimator, "em", collapse_first)
    with pytest.warns(UserWarning, match="Initialisation 2 of 3 collapsed"):
        model = gmm.GaussianMixture(2, n_init=3, random_state=0).fit(X)
    assert model.converged_
    monkeypatch.setattr(gmm.estimator, "em", lambda *a, **k: (_ for _ in ()).throw(
        gmm.ComponentCollapseError("Component 1 collapsed", component=0)))
    with pytest.raises(gmm.ComponentCollapseError, match="Every one of the n_init=3"):
        gmm.GaussianMixture(2, n_init=3, random_state=0).fit(X)


def test_n_init_with_a_real_collapse():
    # Three copies of one point and reg_covar = 0: some random starts put a component on the
    # copies alone (a collapse), others do not; the fit keeps the best of the healthy ones.
    rng = np.random.default_rng(10)
    X = np.vstack([rng.normal(size=(60, 2)), np.tile([8.0, 8.0], (3, 1))])
    outcomes = []
    for seed in range(8):
        try:
            gmm.GaussianMixture(2, reg_covar=0.0, init_params="random_from_data",
                                random_state=seed).fit(X)
            outcomes.append(True)
        except gmm.ComponentCollapseError:
            outcomes.append(False)
    assert any(outcomes) and not all(outcomes)
    # With random_state=1, seven of the eight starts collapse (found by trying seeds 0..5).
    with pytest.warns(UserWarning, match="collapsed and was set aside") as record:
        model = gmm.GaussianMixture(2, reg_covar=0.0, init_params="random_from_data",
                                    n_init=8, random_state=1).fit(X)
    assert sum("set aside" in str(w.message) for w in record) == 7
    assert np.all(np.isfinite(model.score_samples(X)))
    assert not gmm.is_degenerate(model.mixture_, 0.0)


def test_convergence_warning_is_sklearns():
    assert issubclass(gmm.ConvergenceWarning, SkConvergenceWarning)
    X, _ = two_clusters(0.0)
    with pytest.warns(SkConvergenceWarning):
        gmm.GaussianMixture(2, max_iter=1, tol=0.0, random_state=0).fit(X)


@pytest.mark.parametrize("change", [{"n_components": 3}, {"covariance_type": "diag"}])
def test_warm_start_refuses_a_changed_model(change):
    X, _ = two_clusters(0.0)
    model = gmm.GaussianMixture(2, warm_start=True, random_state=0).fit(X)
    model.set_params(**change)
    with pytest.raises(ValueError, match="warm_start=True continues the previous fit"):
        model.fit(X)


# -- 9. input checks ------------------------------------------------------------------------


def test_e_step_checks_its_input():
    theta = gmm.Mixture([1.0], [[0.0]], [[[1.0]]])
    log_marginal, log_resp = gmm.e_step([[0.0]], theta)
    assert log_marginal[0] == pytest.approx(-0.5 * np.log(2 * np.pi), rel=1e-14)
    np.testing.assert_array_equal(log_resp, [[0.0]])
    with pytest.raises(ValueError, match="has 2 features"):
        gmm.e_step([[0.0, 1.0]], theta)


@pytest.mark.parametrize(
    ("settings", "phrase"),
    [
        ({"reg_covar": np.inf}, "reg_covar must be a finite"),
        ({"tol": np.inf}, "tol must be a finite"),
        ({"verbose": -1}, "verbose must be an integer >= 0"),
        ({"verbose": "loud"}, "verbose must be an integer >= 0"),
        ({"warm_start": "yes"}, "warm_start must be True or False"),
        ({"random_state": -1}, "random_state must be None, an int >= 0"),
    ],
)
def test_settings_checked_before_any_work(settings, phrase, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the settings must be checked before initialisation")

    monkeypatch.setattr(gmm.estimator, "initial_responsibilities", no_work)
    with pytest.raises(ValueError, match=phrase):
        gmm.GaussianMixture(2, **settings).fit(np.zeros((10, 2)) + np.arange(10)[:, None])


def test_messages_number_components_from_1():
    with pytest.raises(ValueError, match="component 1 is not positive definite"):
        gmm.Mixture([0.5, 0.5], [[0.0], [1.0]], [[[-1.0]], [[1.0]]])
    with pytest.raises(ValueError, match="component 2 is not positive definite"):
        gmm.Mixture([0.5, 0.5], [[0.0], [1.0]], [0.5, 0.0], "spherical")


# -- 10. memory of the methods that return N numbers -----------------------------------------


def peak_bytes(function, *args):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("method", ["predict", "score_samples", "score"])
def test_methods_that_return_n_numbers_do_not_hold_n_by_k(method):
    # N large enough that N K / 4 is well above the chunks' temporaries on two threads
    # (about 2 MB; 20 000 rows made the limit 1.6 MB).
    N, K = 100_000, 40
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N, 2))
    theta = gmm.Mixture(np.full(K, 1 / K), rng.normal(size=(K, 2)), np.ones((K, 2)), "diag")
    model = gmm.GaussianMixture(K, covariance_type="diag")
    model.mixture_ = theta
    model.n_features_in_ = 2
    n_by_k = N * K * 8
    assert peak_bytes(getattr(model, method), X) < n_by_k / 4
    # predict_proba's answer is (N, K) itself.
    assert peak_bytes(model.predict_proba, X) >= n_by_k


def test_fit_keeps_no_n_by_k_matrix_at_the_end():
    N, K = 20_000, 40
    rng = np.random.default_rng(12)
    X = rng.normal(size=(N, 2))
    start = gmm.Mixture(np.full(K, 1 / K), rng.normal(size=(K, 2)), np.ones((K, 2)), "diag")
    result = gmm.em(X, start, max_iter=2, keep_log_resp=False)
    assert result.log_resp is None and result.labels.shape == (N,)
    peak = peak_bytes(lambda: gmm.em(X, start, max_iter=2, keep_log_resp=False))
    assert peak < N * K * 8 / 4
