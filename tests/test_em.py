"""The EM loop (gmm/algorithm.py) against scikit-learn's GaussianMixture from identical initial
parameters, against the EM theorem (ln p(X) never decreases), against EM on repeated rows,
and against the library's own log_likelihood on the parameter history."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracles import TYPES, assert_relative, initial_parameters, synthetic_data
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gmm


def sklearn_fit(X, covariance_type, max_iter, reg_covar=1e-6):
    model = SkGaussianMixture(
        3, covariance_type=covariance_type, max_iter=max_iter, tol=0.0, reg_covar=reg_covar,
        **initial_parameters(covariance_type),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkConvergenceWarning)  # tol=0 never "converges"
        model.fit(X)
    return model


def theta0(covariance_type):
    start = initial_parameters(covariance_type)
    return gmm.Mixture.from_precisions(start["weights_init"], start["means_init"],
                                       start["precisions_init"], covariance_type)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_one_em_step_matches_sklearn(covariance_type):
    # scikit-learn's max_iter counts E-step + M-step pairs: max_iter=1 is one of each, then a
    # final E-step for the labels; tol=0 keeps it from stopping early. gmm.em counts alike.
    X = synthetic_data()
    sk = sklearn_fit(X, covariance_type, max_iter=1)
    result = gmm.em(X, theta0(covariance_type), max_iter=1, tol=0.0, reg_covar=1e-6)
    assert result.n_iter == sk.n_iter_ == 1
    assert_relative(result.mixture.weights, sk.weights_, 1e-10)
    assert_relative(result.mixture.means, sk.means_, 1e-10)
    assert_relative(result.mixture.covariances, sk.covariances_, 1e-10)
    assert result.lower_bound == pytest.approx(sk.lower_bound_, rel=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_25_iterations_match_sklearn(covariance_type):
    X = synthetic_data()
    sk = sklearn_fit(X, covariance_type, max_iter=25)
    result = gmm.em(X, theta0(covariance_type), max_iter=25, tol=0.0, reg_covar=1e-6)
    assert result.n_iter == sk.n_iter_ == 25
    assert not result.converged and not sk.converged_
    assert_relative(result.mixture.weights, sk.weights_, 1e-6)
    assert_relative(result.mixture.means, sk.means_, 1e-6)
    assert_relative(result.mixture.covariances, sk.covariances_, 1e-6)
    assert result.log_likelihoods[-1] / len(X) == pytest.approx(sk.score(X), rel=1e-6)
    assert result.lower_bound == pytest.approx(sk.lower_bound_, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    covariance_type=st.sampled_from(TYPES),
    K=st.integers(1, 4),
    D=st.integers(1, 3),
    spread=st.floats(0.5, 5.0),
)
def test_log_likelihood_never_decreases(seed, covariance_type, K, D, spread):
    # The EM theorem (chapter 4). reg_covar=0 so that the M-step is the exact maximiser of Q
    # (with reg_covar > 0 it is not, and ln p(X) may legitimately dip by ~reg_covar terms).
    # The only slack is for rounding: 1e-12 relative.
    rng = np.random.default_rng(seed)
    N = 15 * K
    centres = rng.normal(scale=spread, size=(K, D))
    X = centres[rng.integers(0, K, size=N)] + rng.normal(size=(N, D)) * rng.uniform(
        0.3, 2.0, size=D)
    start = gmm.Mixture(
        rng.dirichlet(np.ones(K)),
        X[rng.choice(N, size=K, replace=False)] + rng.normal(scale=0.1, size=(K, D)),
        {"full": lambda: np.array([np.cov(X.T).reshape(D, D) + 0.1 * np.eye(D)] * K),
         "tied": lambda: np.cov(X.T).reshape(D, D) + 0.1 * np.eye(D),
         "diag": lambda: rng.uniform(0.2, 3.0, size=(K, D)),
         "spherical": lambda: rng.uniform(0.2, 3.0, size=K)}[covariance_type](),
        covariance_type,
    )
    try:
        result = gmm.em(X, start, max_iter=30, tol=0.0, reg_covar=0.0, keep_history=True)
    except ValueError as error:
        # Without reg_covar a component may collapse onto too few points: the singularity,
        # reported (not a NaN). The theorem says nothing about that run.
        assert "collapsed" in str(error)
        assume(False)
    log_likelihoods = np.array(result.log_likelihoods)
    assert np.all(np.isfinite(log_likelihoods))
    steps = np.diff(log_likelihoods)
    # Rounding slack: 1e-12 relative, unless a component nears collapse. A variance that is
    # a fraction r of the data's is computed with a relative error of about eps / r (the
    # statistics are accurate to eps of the data's spread), and ln p(X) inherits N eps / r.
    # (Found by hypothesis: a component on one point at r = 1.4e-12, just above
    # gmm.criteria.COLLAPSE_RTOL, made ln p(X) dip by 1e-3 with no error in the algebra.)
    spread = np.cov(X.T, bias=True).reshape(D, D)
    if covariance_type in ("diag", "spherical"):
        spread = np.diag(spread)
    smallest = min(float(gmm.criteria.relative_variances(theta, spread).min())
                   for theta in result.history)
    conditioning_slack = 100 * N * np.finfo(float).eps / smallest
    assert np.all(steps >= -1e-12 * np.abs(log_likelihoods[1:]) - 1e-12 - conditioning_slack), (
        steps, smallest)
    # Entry t is ln p(X | theta^(t)).
    for t in (0, len(result.history) // 2, len(result.history) - 1):
        assert log_likelihoods[t] == pytest.approx(
            gmm.log_likelihood(X, result.history[t]), rel=1e-12, abs=1e-12 + conditioning_slack)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X = synthetic_data(seed=1, n=120)
    counts = np.random.default_rng(2).integers(0, 4, size=len(X))
    weighted = gmm.em(X, theta0(covariance_type), tol=0.0, max_iter=20,
                      sample_weight=counts.astype(float))
    repeated = gmm.em(np.repeat(X, counts, axis=0), theta0(covariance_type), tol=0.0,
                      max_iter=20)
    np.testing.assert_allclose(weighted.log_likelihoods, repeated.log_likelihoods, rtol=1e-10)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(weighted.mixture, name),
                                   getattr(repeated.mixture, name), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fixed", [("weights",), ("means",), ("covariances",),
                                   ("weights", "covariances")])
def test_fixed_parameters_stay_fixed_through_em(fixed):
    X = synthetic_data(seed=3, n=200)
    start = theta0("full")
    result = gmm.em(X, start, max_iter=10, tol=0.0, fixed=fixed, keep_history=True)
    for theta in result.history:
        for name in ("weights", "means", "covariances"):
            same = np.array_equal(getattr(theta, name), getattr(start, name))
            if name in fixed:
                assert same, name
    last = result.history[-1]
    for name in {"weights", "means", "covariances"} - set(fixed):
        assert not np.allclose(getattr(last, name), getattr(start, name)), name
    assert np.all(np.diff(result.log_likelihoods) >= -1e-9)


def test_max_iter_zero_evaluates_the_start():
    X = synthetic_data(n=50)
    result = gmm.em(X, theta0("diag"), max_iter=0)
    assert result.n_iter == 0 and result.mixture is not None
    assert result.log_likelihoods == [pytest.approx(gmm.log_likelihood(X, theta0("diag")))]


def test_convergence_rule_is_per_point_change_below_tol():
    X = synthetic_data(n=300)
    result = gmm.em(X, theta0("full"), tol=1e-4, max_iter=500)
    assert result.converged
    ll = np.array(result.log_likelihoods) / len(X)
    # Stopped at the first iteration whose change (per point) fell below tol.
    changes = np.diff(ll[:-1])
    assert abs(changes[-1]) < 1e-4
    assert np.all(np.abs(changes[:-1]) >= 1e-4)
    assert len(result.log_likelihoods) == result.n_iter + 1


def test_verbose_prints_progress(capsys):
    X = synthetic_data(n=100)
    gmm.em(X, theta0("full"), max_iter=20, tol=0.0, verbose=1, verbose_interval=5)
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines()] == ["5", "10", "15", "20"]
    assert "ln p(X) per point" in out


def collapsing_data():
    # Five identical points at 0 and the integers +-1..10: the mean is exactly 0, and a
    # narrow component at 0 gives the other points responsibility exactly 0, so its
    # variance becomes exactly 0 after one M-step.
    values = [0.0] * 5 + list(range(-10, 0)) + list(range(1, 11))
    X = np.array(values, dtype=float)[:, None]
    start = gmm.Mixture([0.2, 0.8], [[0.0], [0.0]], [[[1e-4]], [[30.0]]])
    return X, start


def test_collapse_without_reg_covar_names_the_component():
    X, start = collapsing_data()
    with pytest.raises(ValueError, match=r"component 1 .*collapsed.*reg_covar"):
        gmm.em(X, start, reg_covar=0.0, max_iter=10)


def test_collapse_with_reg_covar_stays_finite_and_is_flagged():
    X, start = collapsing_data()
    result = gmm.em(X, start, reg_covar=1e-6, max_iter=10)
    theta = result.mixture
    for value in (theta.weights, theta.means, theta.covariances, result.log_likelihoods):
        assert np.all(np.isfinite(value))
    assert theta.covariances[0, 0, 0] == pytest.approx(1e-6, rel=1e-6)
    assert gmm.is_degenerate(theta, reg_covar=1e-6)


def test_e_step_matches_public_functions():
    X = synthetic_data(n=40)
    theta = theta0("tied")
    log_marginal, log_resp = gmm.e_step(X, theta)
    np.testing.assert_allclose(log_marginal, gmm.log_marginal(X, theta), rtol=1e-14)
    np.testing.assert_allclose(np.exp(log_resp), gmm.responsibilities(X, theta), rtol=1e-12)


@pytest.mark.parametrize("tol", [1e-2, 1e-4, 1e-7])
def test_aitken_stopping_stops_where_its_formula_first_holds(tol):
    # The rule written out on the recorded sequence of a run that does not stop: at
    # iteration t the E-step has l_0 .. l_{t-1} (per point); stop at the first t >= 3 with
    # a = (l_{t-1} - l_{t-2}) / (l_{t-2} - l_{t-3}) in [0, 1) and
    # (l_{t-1} - l_{t-2}) a / (1 - a) < tol.
    X = synthetic_data()
    start = theta0("full")
    values = np.array(gmm.em(X, start, tol=0.0, max_iter=300).log_likelihoods) / len(X)
    first = None
    for t in range(3, len(values)):
        rise, previous_rise = values[t - 1] - values[t - 2], values[t - 2] - values[t - 3]
        rate = rise / previous_rise
        if 0 <= rate < 1 and rise >= 0 and rise * rate / (1 - rate) < tol:
            first = t
            break
    assert first is not None
    fit = gmm.em(X, start, tol=tol, max_iter=300, stopping="aitken")
    assert fit.converged and fit.n_iter == first
    change = gmm.em(X, start, tol=tol, max_iter=300)  # the default rule is untouched
    later = np.abs(np.diff(values)) < tol
    assert change.n_iter == 1 + int(np.flatnonzero(later)[0]) + 1
    model = gmm.GaussianMixture(3, tol=tol, stopping="aitken", max_iter=300,
                                **initial_parameters("full")).fit(X)
    assert model.n_iter_ == first
    with pytest.raises(ValueError, match="stopping must be one of"):
        gmm.em(X, start, stopping="relative")
    with pytest.raises(ValueError, match="stopping must be one of"):
        gmm.GaussianMixture(3, stopping="relative").fit(X)


def test_a_fit_holds_blas_at_one_thread_and_restores_it(monkeypatch):
    # Between the passes too (gmm.algorithm.em): a threaded BLAS call there leaves
    # OpenBLAS's threads spinning on the cores the engine's threads need.
    from threadpoolctl import threadpool_info

    import gmm.algorithm

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = blas_threads()
    seen = []
    original = gmm.algorithm.data_shift
    monkeypatch.setattr(gmm.algorithm, "data_shift",
                        lambda *a, **k: (seen.append(blas_threads()), original(*a, **k))[1])
    X = gmm.datasets.load_old_faithful()
    gmm.em(X, theta0("full"), max_iter=3)
    assert seen and all(count == 1 for count in seen[0])
    assert blas_threads() == before
