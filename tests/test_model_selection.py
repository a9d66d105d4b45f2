"""Model selection (gmm/model_selection.py): free-parameter counts and BIC/AIC against
scikit-learn and against the formulas computed by hand; select_model's table re-derived
from its fitted models; degenerate fits (a component collapsed onto repeated identical
points) flagged and never selected."""

import warnings

import numpy as np
import pytest
import scipy.stats
from oracles import TYPES
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gmm


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize(("K", "D"), [(1, 1), (2, 3), (3, 2), (5, 4)])
def test_n_parameters_against_sklearn_and_by_hand(covariance_type, K, D):
    X = np.random.default_rng(0).normal(size=(30, D))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkConvergenceWarning)
        # (init_params="random": scikit-learn's KMeans start is slow on this machine.)
        sk = SkGaussianMixture(K, covariance_type=covariance_type, max_iter=1,
                               init_params="random", random_state=0).fit(X)
    by_hand = {"full": K * D * (D + 1) / 2, "tied": D * (D + 1) / 2, "diag": K * D,
               "spherical": K}[covariance_type] + K * D + K - 1
    assert gmm.n_parameters(K, D, covariance_type) == sk._n_parameters() == by_hand


@pytest.mark.parametrize("covariance_type", TYPES)
def test_bic_aic_against_sklearn(covariance_type):
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(80, 2)), rng.normal(size=(60, 2)) + [4.0, 1.0]])
    sk = SkGaussianMixture(2, covariance_type=covariance_type, init_params="random",
                           random_state=0).fit(X)
    theta = gmm.Mixture(sk.weights_, sk.means_, sk.covariances_, covariance_type)
    ll = gmm.log_likelihood(X, theta)
    p = gmm.n_parameters(2, 2, covariance_type)
    assert gmm.bic(ll, p, len(X)) == pytest.approx(sk.bic(X), rel=1e-10)
    assert gmm.aic(ll, p) == pytest.approx(sk.aic(X), rel=1e-10)
    assert gmm.bic(-100.0, 7, 50) == pytest.approx(200.0 + 7 * np.log(50), rel=1e-15)
    assert gmm.aic(-100.0, 7) == 214.0


def data_with_repeated_points():
    # A Gaussian cloud plus 15 copies of one point: a component placed on the copies has
    # variance 0 (reg_covar after regularisation) and an unbounded likelihood.
    rng = np.random.default_rng(2)
    cloud = rng.normal(size=(120, 2)) * [1.0, 1.5]
    return np.vstack([cloud, np.tile([6.0, 6.0], (15, 1))])


def test_select_model_table_and_degenerate_fits():
    X = data_with_repeated_points()
    selection = gmm.select_model(X, n_components=[1, 2, 3], covariance_types=["full", "diag"],
                                 random_state=0)
    assert len(selection.table) == 6
    N = len(X)
    for row in selection.table:
        K, kind = row["n_components"], row["covariance_type"]
        model = selection.models[(K, kind)]
        assert model.n_components == K and model.covariance_type == kind
        ll = gmm.log_likelihood(X, model.mixture_)
        p = {"full": K * 3, "diag": K * 2}[kind] + K * 2 + K - 1
        assert row["log_likelihood"] == pytest.approx(ll, rel=1e-12)
        assert row["n_parameters"] == p
        assert row["bic"] == pytest.approx(-2 * ll + p * np.log(N), rel=1e-12)
        assert row["aic"] == pytest.approx(-2 * ll + 2 * p, rel=1e-12)
        # Degenerate means: some covariance eigenvalue at the reg_covar floor.
        smallest = min(np.linalg.eigvalsh(c).min() for c in model.mixture_.covariances_full)
        assert row["degenerate"] == (smallest < 1e-5)
    degenerate = [row for row in selection.table if row["degenerate"]]
    assert degenerate, "the repeated points should trap at least one fit"
    best = selection.best_row
    assert not best["degenerate"]
    # The trap is real: a degenerate fit has the lowest BIC of all and is still not chosen.
    assert min(row["bic"] for row in degenerate) < best["bic"]
    healthy = [row for row in selection.table if not row["degenerate"]]
    assert best["bic"] == min(row["bic"] for row in healthy)
    assert selection.best_ is selection.models[(best["n_components"],
                                                best["covariance_type"])]
    text = str(selection)
    assert "degenerate" in text and "best BIC" in text and len(text.splitlines()) == 7
    assert "ICL" in text and "held-out" not in text
    assert selection._repr_html_().count("<tr") == 7


def test_select_model_aic_and_errors():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + [5.0, 0.0]])
    selection = gmm.select_model(X, n_components=[1, 2, 3], covariance_types=["spherical"],
                                 criterion="aic", random_state=0)
    assert selection.criterion == "aic"
    assert selection.best_row["aic"] == min(row["aic"] for row in selection.table)
    assert selection.best_.n_components == 2
    with pytest.raises(ValueError, match="criterion must be one of"):
        gmm.select_model(X, criterion="likelihood")
    with pytest.raises(ValueError, match="Unknown covariance_type"):
        gmm.select_model(X, covariance_types=["round"])
    with pytest.raises(ValueError, match="n_components must be an integer >= 1"):
        gmm.select_model(X, n_components=[0, 1])
    with pytest.raises(ValueError, match="must not be empty"):
        gmm.select_model(X, n_components=[])


def test_select_model_every_fit_degenerate():
    X = np.tile([[1.0, 2.0]], (10, 1))  # one repeated point: every fit collapses
    with pytest.raises(ValueError, match="Every fit is degenerate"):
        gmm.select_model(X, n_components=[1], covariance_types=["full"], random_state=0)


def test_is_degenerate():
    healthy = gmm.Mixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), np.eye(2)])
    assert not gmm.is_degenerate(healthy)
    # A variance at the reg_covar floor: the data gave that component no spread.
    at_floor = healthy.replace(covariances=[np.eye(2), np.diag([1.0, 1e-6])])
    assert gmm.is_degenerate(at_floor, reg_covar=1e-6)
    assert not gmm.is_degenerate(at_floor, reg_covar=1e-8)
    flat = healthy.replace(covariances=[np.eye(2), [[1.0, 1.0 - 1e-10], [1.0 - 1e-10, 1.0]]])
    assert gmm.is_degenerate(flat, reg_covar=0.0)  # a line: condition number vanishes


def generalised_smallest_ratio(theta, reg_covar):
    """Oracle: min over directions of v^T (Sigma_k - reg I) v / v^T S v, S the mixture's
    covariance less reg I, by scipy's generalised symmetric eigensolver."""
    import scipy.linalg

    covariances = theta.covariances_full
    offsets = theta.means - theta.weights @ theta.means
    spread = sum(w * (c + np.outer(d, d)) for w, c, d in
                 zip(theta.weights, covariances, offsets, strict=True))
    spread = spread - reg_covar * np.eye(theta.n_features)
    return min(scipy.linalg.eigh(c - reg_covar * np.eye(theta.n_features), spread,
                                 eigvals_only=True)[0] for c in covariances)


def test_is_degenerate_ignores_a_constant_feature():
    # A constant feature: every component sits at the floor there, but so do the data;
    # nothing collapsed relative to them.
    rng = np.random.default_rng(6)
    X = np.c_[rng.normal(0, 2000, 500), np.ones(500)]
    model = gmm.GaussianMixture(1).fit(X)
    assert not gmm.is_degenerate(model.mixture_, model.reg_covar)


def mclust_icl(log_likelihood, p, N, resp):
    """R's mclust: icl = BIC + 2 * sum(C * log(z)), C the 0/1 matrix of the most probable
    component of every point and BIC = 2 loglik - p log(N) (higher is better there)."""
    C = np.zeros_like(resp)
    for n in range(resp.shape[0]):
        C[n, np.argmax(resp[n])] = 1.0
    mclust_bic = 2 * log_likelihood - p * np.log(N)
    return mclust_bic + 2 * np.sum(C * np.log(resp))


def test_icl_is_minus_mclusts_icl():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(40, 2)) + [2.0, 1.0]])
    model = gmm.GaussianMixture(2, random_state=0, tol=1e-8, max_iter=500).fit(X)
    resp = model.predict_proba(X)
    ll = gmm.log_likelihood(X, model.mixture_)
    p = gmm.n_parameters(2, 2, "full")
    value = gmm.icl(ll, p, len(X), resp)
    assert value == pytest.approx(-mclust_icl(ll, p, len(X), resp), rel=1e-12)
    # Its penalty is between 0 (hard responsibilities) and 2 H(gamma) (the soft entropy).
    penalty = value - gmm.bic(ll, p, len(X))
    assert 0 < penalty <= 2 * gmm.responsibility_entropy(resp)
    assert gmm.icl(ll, p, len(X), np.eye(2)[np.arange(len(X)) % 2]) == gmm.bic(ll, p, len(X))
    with pytest.raises(ValueError, match="resp must have shape"):
        gmm.icl(ll, p, len(X), resp[:-1])


def test_held_out_log_likelihood_against_a_fold_loop():
    rng = np.random.default_rng(6)
    X = np.vstack([rng.normal(size=(50, 2)), rng.normal(size=(40, 2)) + [4.0, 0.0]])
    N, n_folds = len(X), 3
    # The folds by their documented rule, and the loop written out.
    folds = np.random.default_rng(7).permutation(N) % n_folds
    expected = 0.0
    for f in range(n_folds):
        train, test = X[folds != f], X[folds == f]
        model = gmm.GaussianMixture(2, covariance_type="diag", random_state=7).fit(train)
        theta = model.mixture_
        density = sum(w * scipy.stats.multivariate_normal(m, np.diag(v)).pdf(test)
                      for w, m, v in zip(theta.weights, theta.means, theta.covariances,
                                         strict=True))
        expected += np.log(density).sum()
    value = gmm.held_out_log_likelihood(X, 2, "diag", n_folds=n_folds, random_state=7)
    assert value == pytest.approx(expected, rel=1e-10)
    np.testing.assert_array_equal(gmm.model_selection.fold_labels(N, n_folds, 7), folds)
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1
    with pytest.raises(ValueError, match="cannot exceed"):
        gmm.model_selection.fold_labels(3, 4)


def test_select_model_by_icl_and_held_out():
    rng = np.random.default_rng(8)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + [5.0, 0.0]])
    selection = gmm.select_model(X, n_components=[1, 2, 3], covariance_types=["full"],
                                 criterion="held_out", n_folds=3, random_state=0)
    for row in selection.table:
        model = selection.models[(row["n_components"], "full")]
        ll = gmm.log_likelihood(X, model.mixture_)
        assert row["icl"] == pytest.approx(
            -mclust_icl(ll, row["n_parameters"], len(X), model.predict_proba(X)), rel=1e-10)
        assert row["held_out"] == pytest.approx(gmm.held_out_log_likelihood(
            X, row["n_components"], "full", n_folds=3, random_state=0), rel=1e-12)
    assert selection.best_row["held_out"] == max(row["held_out"] for row in selection.table)
    assert "best HELD-OUT" in str(selection) and "held-out" in str(selection)
    by_icl = gmm.select_model(X, n_components=[1, 2, 3], covariance_types=["full"],
                              criterion="icl", random_state=0)
    assert by_icl.best_row["icl"] == min(row["icl"] for row in by_icl.table)
    with pytest.raises(ValueError, match="needs n_folds"):
        gmm.select_model(X, criterion="held_out")
