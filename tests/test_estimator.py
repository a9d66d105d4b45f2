"""The estimator gmm.GaussianMixture (gmm/estimator.py) against scikit-learn: its
estimator checks, its GaussianMixture from identical initial parameters, and the Old Faithful
optimum that scikit-learn and R's mclust both report; plus warm starts, n_init, warnings,
verbose output, the histories and sample weights."""

import warnings

import numpy as np
import pytest
from oracles import TYPES, assert_relative, initial_parameters, synthetic_data
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

import gmm
import gmm.estimator


@parametrize_with_checks([gmm.GaussianMixture()])
def test_sklearn_estimator_checks(estimator, check):
    # One test per scikit-learn check. A check that scikit-learn itself skips (pandas not
    # installed, array API not enabled) shows as skipped with scikit-learn's reason.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmm.ConvergenceWarning)
        check(estimator)


def both_fits(X, covariance_type, max_iter):
    settings = dict(covariance_type=covariance_type, max_iter=max_iter, tol=0.0,
                    **initial_parameters(covariance_type))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkConvergenceWarning)
        warnings.simplefilter("ignore", gmm.ConvergenceWarning)
        sk = SkGaussianMixture(3, **settings).fit(X)
        ours = gmm.GaussianMixture(3, **settings).fit(X)
    return ours, sk


@pytest.mark.parametrize("covariance_type", TYPES)
def test_one_step_matches_sklearn(covariance_type):
    X = synthetic_data()
    ours, sk = both_fits(X, covariance_type, max_iter=1)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert_relative(getattr(ours, name), getattr(sk, name), 1e-10)
    assert ours.n_iter_ == sk.n_iter_ == 1
    assert ours.lower_bound_ == pytest.approx(sk.lower_bound_, rel=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_25_iterations_match_sklearn(covariance_type):
    X = synthetic_data()
    ours, sk = both_fits(X, covariance_type, max_iter=25)
    for name in ("weights_", "means_", "covariances_", "precisions_"):
        assert_relative(getattr(ours, name), getattr(sk, name), 1e-6)
    assert ours.score(X) == pytest.approx(sk.score(X), rel=1e-6)
    np.testing.assert_allclose(ours.score_samples(X), sk.score_samples(X), rtol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    assert ours.bic(X) == pytest.approx(sk.bic(X), rel=1e-6)
    assert ours.aic(X) == pytest.approx(sk.aic(X), rel=1e-6)
    assert ours.converged_ is False and sk.converged_ is False


def test_old_faithful_optimum():
    # -1130.264 is the maximum of ln p(X) for K = 2 full covariances on Old Faithful, as
    # reported by scikit-learn and R's mclust. Derive it here too: scikit-learn from the
    # same start, and scikit-learn from k-means starts of its own.
    X = gmm.datasets.load_old_faithful()
    start = dict(weights_init=[0.5, 0.5], means_init=[[2.0, 55.0], [4.5, 80.0]],
                 precisions_init=[np.linalg.inv(np.cov(X.T))] * 2)
    ours = gmm.GaussianMixture(2, tol=1e-10, max_iter=1000, **start).fit(X)
    sk_same = SkGaussianMixture(2, tol=1e-10, max_iter=1000, **start).fit(X)
    sk_many = SkGaussianMixture(2, tol=1e-10, max_iter=1000, n_init=2, random_state=0).fit(X)
    ours_ll = ours.score(X) * len(X)
    assert ours.converged_
    assert ours_ll == pytest.approx(sk_same.score(X) * len(X), abs=1e-6)
    assert ours_ll == pytest.approx(sk_many.score(X) * len(X), abs=1e-6)
    assert ours_ll == pytest.approx(-1130.264, abs=1e-3)
    assert ours.log_likelihood_history_[-1] == pytest.approx(ours_ll, rel=1e-12)
    # The default start (k-means) reaches it as well.
    default = gmm.GaussianMixture(2, tol=1e-8, max_iter=1000, random_state=0).fit(X)
    assert default.score(X) * len(X) == pytest.approx(-1130.264, abs=1e-3)


def test_integer_weights_equal_repeated_rows_with_kmeans_init():
    X = synthetic_data(seed=4, n=150)
    counts = np.random.default_rng(5).integers(1, 4, size=len(X))
    weighted = gmm.GaussianMixture(3, random_state=0, tol=1e-8).fit(
        X, sample_weight=counts.astype(float))
    repeated = gmm.GaussianMixture(3, random_state=0, tol=1e-8).fit(np.repeat(X, counts, 0))
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name),
                                   rtol=1e-8, atol=1e-10)
    assert weighted.n_iter_ == repeated.n_iter_


def test_warm_start_continues_from_previous_fit():
    X = synthetic_data(n=300)
    settings = dict(tol=0.0, random_state=1, **initial_parameters("full"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmm.ConvergenceWarning)
        once = gmm.GaussianMixture(3, max_iter=10, **settings).fit(X)
        warm = gmm.GaussianMixture(3, max_iter=5, warm_start=True, **settings)
        warm.fit(X)
        first_half = warm.means_.copy()
        warm.fit(X)
    assert not np.allclose(first_half, once.means_)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(warm, name), getattr(once, name), rtol=1e-10)
    with pytest.raises(ValueError, match="features"):
        warm.fit(X[:, :1])


def test_n_init_keeps_the_best(monkeypatch):
    X = synthetic_data(n=200)
    results = []
    original = gmm.estimator.em

    def recording_em(*args, **kwargs):
        result = original(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(gmm.estimator, "em", recording_em)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmm.ConvergenceWarning)
        model = gmm.GaussianMixture(4, n_init=6, init_params="random", random_state=3,
                                    max_iter=15).fit(X)
    assert len(results) == 6
    bounds = [r.lower_bound for r in results]
    assert len(set(np.round(bounds, 8))) > 1  # the starts really differ
    best = results[int(np.argmax(bounds))]
    assert model.lower_bound_ == max(bounds)
    np.testing.assert_array_equal(model.means_, best.mixture.means)


def test_convergence_warning_when_max_iter_too_small():
    X = synthetic_data(n=300)
    with pytest.warns(gmm.ConvergenceWarning, match="max_iter=2"):
        model = gmm.GaussianMixture(3, max_iter=2, random_state=0).fit(X)
    assert not model.converged_ and model.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", gmm.ConvergenceWarning)
        assert gmm.GaussianMixture(3, max_iter=500, random_state=0).fit(X).converged_


def test_verbose_prints_progress(capsys):
    X = synthetic_data(n=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmm.ConvergenceWarning)
        gmm.GaussianMixture(3, n_init=2, verbose=1, verbose_interval=2, tol=0.0, max_iter=4,
                            random_state=0).fit(X)
    out = capsys.readouterr().out
    for text in ("Initialization 1", "Initialization 2", "Iteration 2", "Iteration 4",
                 "did not converge"):
        assert text in out
    gmm.GaussianMixture(3, random_state=0).fit(X)
    assert capsys.readouterr().out == ""


def test_histories():
    X = synthetic_data(n=300)
    model = gmm.GaussianMixture(3, keep_history=True, random_state=2, tol=1e-6).fit(X)
    history = model.log_likelihood_history_
    assert len(history) == model.n_iter_ + 1
    assert len(model.history_) == model.n_iter_ + 1
    assert np.all(np.diff(history) >= -1e-8 * np.abs(history[1:]))
    for theta, value in zip(model.history_, history, strict=True):
        assert isinstance(theta, gmm.Mixture)
        assert gmm.log_likelihood(X, theta) == pytest.approx(value, rel=1e-12)
    assert history[-1] == pytest.approx(model.score(X) * len(X), rel=1e-12)
    assert model.lower_bound_ == pytest.approx(history[-2] / len(X), rel=1e-12)
    np.testing.assert_array_equal(model.mixture_.means, model.means_)
    assert gmm.GaussianMixture(3, random_state=2).fit(X).history_ is None


@pytest.mark.parametrize("covariance_type", TYPES)
def test_bic_aic_against_hand_formula(covariance_type):
    X = synthetic_data(n=200)
    model = gmm.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    K, D, N = 3, 2, len(X)
    covariance_count = {"full": K * D * (D + 1) // 2, "tied": D * (D + 1) // 2,
                        "diag": K * D, "spherical": K}[covariance_type]
    p = (K - 1) + K * D + covariance_count
    ll = model.score_samples(X).sum()
    assert model.bic(X) == pytest.approx(-2 * ll + p * np.log(N), rel=1e-12)
    assert model.aic(X) == pytest.approx(-2 * ll + 2 * p, rel=1e-12)


def test_predictions_are_consistent():
    X = synthetic_data(n=200)
    model = gmm.GaussianMixture(3, random_state=0)
    labels = model.fit_predict(X)
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_array_equal(model.predict(X), model.predict_proba(X).argmax(axis=1))
    np.testing.assert_allclose(model.predict_proba(X),
                               gmm.responsibilities(X, model.mixture_), rtol=1e-12)
    np.testing.assert_allclose(model.score_samples(X), gmm.log_marginal(X, model.mixture_),
                               rtol=1e-12)
    points, z = model.sample(500)
    assert points.shape == (500, 2) and z.shape == (500,)


def test_params_protocol():
    model = gmm.GaussianMixture(2, covariance_type="diag", reg_covar=1e-3)
    params = model.get_params()
    assert params["n_components"] == 2 and params["covariance_type"] == "diag"
    copy = clone(model)
    assert copy.get_params() == params and copy is not model
    assert model.set_params(n_components=4) is model and model.n_components == 4
    with pytest.raises(ValueError, match="Invalid parameter 'colour'"):
        model.set_params(colour="red")
    assert repr(model) == "GaussianMixture(n_components=4, covariance_type='diag', " \
                          "reg_covar=0.001)"


def test_not_fitted():
    with pytest.raises(gmm.NotFittedError, match="not fitted"):
        gmm.GaussianMixture().predict([[0.0]])


@pytest.mark.parametrize("prior", [None, "default"])
@pytest.mark.parametrize("given", [(), ("means_init",), ("weights_init", "precisions_init")])
def test_start_is_one_m_step_on_the_initial_responsibilities(prior, given):
    """max_iter=0 returns the start: the M-step (gmm.m_step, the teaching function) on the
    k-means responsibilities, with the given values in place of the estimated ones; the
    covariances about the responsibilities' means whatever means are given."""
    X = gmm.datasets.load_old_faithful()
    values = {"weights_init": np.array([0.3, 0.7]),
              "means_init": np.array([[2.0, 55.0], [4.5, 80.0]]),
              "precisions_init": np.array([np.diag([4.0, 0.02]), np.diag([5.0, 0.03])])}
    settings = {name: values[name] for name in given}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmm.exceptions.ConvergenceWarning)
        model = gmm.GaussianMixture(2, max_iter=0, random_state=3, prior=prior,
                                    **settings).fit(X)
    resp = gmm.initialization.initial_responsibilities(X, 2, "kmeans", random_state=3)
    expected = gmm.m_step(X, resp, "full", prior=prior)
    np.testing.assert_allclose(model.weights_, settings.get("weights_init",
                                                          expected.weights), rtol=1e-12)
    np.testing.assert_allclose(model.means_, settings.get("means_init", expected.means),
                               rtol=1e-12)
    if "precisions_init" in settings:
        np.testing.assert_allclose(model.precisions_, settings["precisions_init"],
                                   rtol=1e-12)
    else:
        np.testing.assert_allclose(model.covariances_, expected.covariances, rtol=1e-12)
