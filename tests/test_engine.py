"""The engine (gmm/_engine.py) against the teaching functions, with chunks so small that
every path crosses many chunk boundaries (7 rows; N = 53 is not a multiple of it): one EM
iteration of the engine must give the log-likelihood, the responsibilities and the M-step
of log_likelihood, log_responsibilities, sufficient_statistics and m_step, for every
covariance type, both E-step formulations, with and without sample weights, near and far
from the origin. Then the invariances of the whole fit, as hypothesis properties: rescaling
each feature, translating the data, scaling the sample weights, reordering the rows."""

import os
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import TYPES, random_mixture

import gmm
import gmm._engine as engine
import gmm.initialization
from gmm.mstep import _parameters_from_statistics, _sufficient_statistics

# Every test here runs on the numpy code and on the compiled kernels (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("kernels")

TINY_CHUNK = 7
N = 53


@pytest.fixture
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(engine, "chunk_rows", lambda width, budget=None: TINY_CHUNK)
    # And few tasks, so that each adds several chunks itself (8 chunks: tasks of 3, 3, 2).
    monkeypatch.setattr(engine, "_TASKS_PER_PASS", 3)
    monkeypatch.setattr(gmm.initialization, "chunk_rows", lambda width, budget=None: TINY_CHUNK)


def problem(covariance_type, D, offset, weighted, seed=0):
    rng = np.random.default_rng(seed)
    theta = random_mixture(rng, covariance_type, 3, D)
    X, _ = gmm.sample(theta, N, random_state=rng)
    X = X + offset
    theta = theta.replace(means=theta.means + offset)
    weight = rng.uniform(0.2, 3.0, size=N) if weighted else None
    return X, theta, weight


def engine_iteration(X, theta, weight, formulation):
    n_samples = float(N if weight is None else weight.sum())
    shift = engine.data_shift(X, weight)
    log_resp = np.empty((N, theta.n_components))
    labels = np.empty(N, dtype=np.intp)
    log_marginal = np.empty(N)
    log_likelihood, statistics = engine.em_iteration(
        X, theta, shift, weight, n_samples, None, log_resp, labels_out=labels,
        log_marginal_out=log_marginal, formulation=formulation,
    )
    return log_likelihood, statistics, log_resp, labels, log_marginal


CASES = [
    pytest.param(kind, D, formulation, weighted, offset,
                 id=f"{kind}-D{D}-{formulation}-{'w' if weighted else 'u'}-{offset:g}")
    for kind in TYPES
    for D, formulation in [(3, "quadratic"), (3, "factors"), (20, None),
                           (20, "factors-symmetric")]
    for weighted in (False, True)
    for offset in (0.0, 1e6)
]


@pytest.mark.parametrize(("covariance_type", "D", "formulation", "weighted", "offset"), CASES)
def test_one_iteration_matches_the_teaching_functions(tiny_chunks, covariance_type, D,
                                                      formulation, weighted, offset,
                                                      monkeypatch):
    if formulation == "factors-symmetric":  # the second moments as products Y_k Y_k^T
        monkeypatch.setattr(engine, "_SYMMETRIC_PRODUCT_MIN_D", 1)
        formulation = "factors"
    X, theta, weight = problem(covariance_type, D, offset, weighted)
    log_likelihood, statistics, log_resp, labels, log_marginal = engine_iteration(
        X, theta, weight, formulation)
    # The E-step.
    expected_resp = gmm.log_responsibilities(X, theta)
    assert log_likelihood == pytest.approx(gmm.log_likelihood(X, theta, weight), rel=1e-10)
    np.testing.assert_allclose(log_marginal, gmm.log_marginal(X, theta), rtol=1e-10)
    np.testing.assert_allclose(np.exp(log_resp), np.exp(expected_resp), atol=1e-9)
    np.testing.assert_array_equal(labels, expected_resp.argmax(axis=1))
    # The statistics, about the same centre (the weighted mean of the data).
    resp = np.exp(expected_resp)
    expected = gmm.sufficient_statistics(X, resp, covariance_type, weight)
    np.testing.assert_allclose(statistics.shift, expected.shift, rtol=1e-12,
                               atol=1e-12 * (1 + offset))
    expected = _sufficient_statistics(X, resp, covariance_type, weight, statistics.shift)
    np.testing.assert_allclose(statistics.counts, expected.counts, rtol=1e-9)
    scale = np.sqrt(np.max(np.abs(expected.centred_second_moments)))
    np.testing.assert_allclose(statistics.centred_sums, expected.centred_sums, rtol=1e-9,
                               atol=1e-9 * scale)
    np.testing.assert_allclose(statistics.centred_second_moments,
                               expected.centred_second_moments, rtol=1e-9, atol=1e-9 * scale**2)
    # The M-step.
    new = _parameters_from_statistics(statistics, 1e-6, frozenset(), theta)
    reference = gmm.m_step(X, resp, covariance_type, 1e-6, weight)
    np.testing.assert_allclose(new.weights, reference.weights, rtol=1e-9)
    np.testing.assert_allclose(new.means, reference.means, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(new.covariances, reference.covariances, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("formulation", engine.FORMULATIONS)
def test_formulations_agree_through_a_fit(tiny_chunks, covariance_type, formulation,
                                          monkeypatch):
    # The whole of em(), every E-step forced through one formulation, against the other.
    X, theta, weight = problem(covariance_type, 4, 10.0, True, seed=1)
    results = {}
    original = engine.em_iteration
    for forced in engine.FORMULATIONS:
        def forcing(*args, _forced=forced, **kwargs):
            kwargs["formulation"] = _forced
            return original(*args, **kwargs)

        monkeypatch.setattr(gmm.algorithm, "em_iteration", forcing)
        results[forced] = gmm.em(X, theta, sample_weight=weight, tol=0.0, max_iter=5)
    other = "quadratic" if formulation == "factors" else "factors"
    np.testing.assert_allclose(results[formulation].log_likelihoods,
                               results[other].log_likelihoods, rtol=1e-10)
    np.testing.assert_allclose(results[formulation].mixture.covariances,
                               results[other].mixture.covariances, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_floor_under_the_exponential_changes_nothing(tiny_chunks, covariance_type):
    # Components so far apart that most l_nk - max_j l_nj are below the floor (-705).
    X, theta, _ = problem(covariance_type, 3, 0.0, False, seed=7)
    theta = theta.replace(means=theta.means * 200.0)
    X, _ = gmm.sample(theta, N, random_state=7)
    differences = gmm.log_responsibilities(X, theta)
    assert np.mean(differences < engine._EXP_FLOOR) > 0.5
    log_likelihood, statistics, log_resp, labels, _ = engine_iteration(X, theta, None, None)
    assert log_likelihood == pytest.approx(gmm.log_likelihood(X, theta), rel=1e-10)
    resp = gmm.responsibilities(X, theta)
    expected = _sufficient_statistics(X, resp, covariance_type, None, statistics.shift)
    np.testing.assert_allclose(statistics.counts, expected.counts, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(statistics.centred_sums, expected.centred_sums, rtol=1e-10,
                               atol=1e-280)
    np.testing.assert_array_equal(labels, differences.argmax(axis=1))
    # The covariances, where a floor far above the normal range would show first (the far
    # points' squared distances times their raised responsibilities).
    new = _parameters_from_statistics(statistics, 0.0, frozenset(), theta)
    reference = gmm.m_step(X, resp, covariance_type, 0.0)
    np.testing.assert_allclose(new.covariances, reference.covariances, rtol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_tied_shared_term_from_the_scatter(tiny_chunks, weighted, offset):
    # With the data's scatter given, the chunks leave out the shared quadratic term and its
    # share of ln p(X) is -1/2 tr(Lambda S); ln p(x_n) still has it point by point.
    X, theta, weight = problem("tied", 3, offset, weighted, seed=6)
    shift = engine.data_shift(X, weight)
    n_samples = float(N if weight is None else weight.sum())
    scatter = engine.centred_moments(X, shift, weight)
    log_marginal = np.empty(N)
    log_resp = np.empty((N, 3))
    for moments in (None, scatter):
        log_likelihood, statistics = engine.em_iteration(
            X, theta, shift, weight, n_samples, moments, log_resp, formulation="quadratic")
        assert log_likelihood == pytest.approx(gmm.log_likelihood(X, theta, weight), rel=1e-10)
        np.testing.assert_allclose(np.exp(log_resp), gmm.responsibilities(X, theta), atol=1e-9)
        np.testing.assert_allclose(statistics.centred_second_moments, scatter, rtol=1e-9)
    engine.em_iteration(X, theta, shift, weight, n_samples, scatter, None,
                        with_statistics=False, log_marginal_out=log_marginal,
                        formulation="quadratic")
    np.testing.assert_allclose(log_marginal, gmm.log_marginal(X, theta), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_chunked_methods_match_the_teaching_functions(tiny_chunks, covariance_type):
    X, theta, _ = problem(covariance_type, 3, 1e4, False, seed=2)
    model = gmm.GaussianMixture(3, covariance_type=covariance_type)
    model.mixture_ = theta
    model.n_features_in_ = 3
    np.testing.assert_allclose(model.score_samples(X), gmm.log_marginal(X, theta), rtol=1e-12)
    assert model.score(X) == pytest.approx(gmm.log_likelihood(X, theta) / N, rel=1e-12)
    np.testing.assert_array_equal(model.predict(X),
                                  gmm.responsibilities(X, theta).argmax(axis=1))
    np.testing.assert_allclose(model.predict_proba(X), gmm.responsibilities(X, theta),
                               atol=1e-12)
    log_marginal, log_resp = gmm.e_step(X, theta)
    np.testing.assert_allclose(log_resp, gmm.log_responsibilities(X, theta), atol=1e-9)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("variance", [1.0, 1e-10])
def test_the_accurate_formulation_is_accurate(tiny_chunks, covariance_type, variance):
    # A component of variance 1e-10 (chapter 7's collapsed one) a distance 1 from the
    # data's mean: the quadratic expansion would cancel terms of 1e10 (losing ~1e-6);
    # the "accurate" choice takes the factors there and the quadratic features otherwise.
    rng = np.random.default_rng(8)
    X = np.vstack([rng.normal(size=(40, 2)) * 3.0, 1.0 + 1e-5 * rng.normal(size=(13, 2))])
    covariances = {"full": np.array([np.eye(2) * 9.0, np.eye(2) * variance]),
                   "tied": np.eye(2) * variance, "diag": np.array([[9.0, 9.0], [variance] * 2]),
                   "spherical": np.array([9.0, variance])}[covariance_type]
    theta = gmm.Mixture([0.75, 0.25], [[0.0, 0.0], [1.0, 1.0]], covariances, covariance_type)
    plan = engine.plan_e_step(theta, engine.data_shift(X), "accurate")
    assert plan.formulation == ("factors" if variance < 1e-3 else "quadratic")
    out = engine.e_step_chunked(X, theta, log_marginal=True, labels=True)
    # The factors form (x - c) - (mu - c), each difference rounded: an error of about
    # eps |x - c| |x - mu| / sigma^2 ~ 2e-16 * 3 * 1e-5 / 1e-10 ~ 7e-11 in the Mahalanobis
    # term of the narrow component's points (values ~17 there); the quadratic expansion
    # would be off by ~1e-6.
    np.testing.assert_allclose(out["log_marginal"], gmm.log_marginal(X, theta), rtol=1e-12,
                               atol=2e-10 if variance < 1e-3 else 0.0)
    np.testing.assert_array_equal(out["labels"],
                                  gmm.log_responsibilities(X, theta).argmax(axis=1))


def test_chunk_pass_results_add(tiny_chunks):
    # Out-of-core passes add the per-chunk statistics: any split gives the same sums.
    X, theta, weight = problem("full", 3, 0.0, True, seed=3)
    plan = engine.plan_e_step(theta, engine.data_shift(X, weight))
    whole = engine.chunk_pass(plan, X, weight)
    cut = [0, 5, 6, 30, N]
    parts = [engine.chunk_pass(plan, X[a:b], weight[a:b])
             for a, b in zip(cut[:-1], cut[1:], strict=True)]
    assert sum(p.log_likelihood for p in parts) == pytest.approx(whole.log_likelihood,
                                                                 rel=1e-13)
    for name in ("counts", "sums", "moments"):
        np.testing.assert_allclose(sum(getattr(p, name) for p in parts), getattr(whole, name),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("formulation", engine.FORMULATIONS)
def test_results_do_not_depend_on_the_number_of_threads(tiny_chunks, covariance_type,
                                                        formulation, monkeypatch):
    # A fixed chunk partition, reduced in chunk order: 1, 2 and 3 threads give the same
    # bits (on a few hundred chunks, any other order of the sums changes the last bits).
    original_iteration = engine.em_iteration
    monkeypatch.setattr(gmm.algorithm, "em_iteration", lambda *a, **k: original_iteration(
        *a, **{**k, "formulation": formulation}))
    rng = np.random.default_rng(5)
    theta = random_mixture(rng, covariance_type, 3, 3)
    X, _ = gmm.sample(theta, 2000, random_state=rng)
    weight = rng.uniform(0.2, 3.0, size=len(X))
    threads_seen = set()
    original = engine.chunk_pass
    # The pool makes a new thread only when none is idle, so a quick task can leave a
    # worker idle for the next and fewer threads than asked for run (CI saw 2 of 3). The
    # first chunk of each of the first `threads` tasks waits here until all of them have
    # arrived: the pass can only go on if that many workers run at once.
    gate = {"barrier": None, "left": 0}
    gate_lock = threading.Lock()

    def recording(*args, **kwargs):
        name = threading.current_thread().name
        with gate_lock:
            waiting = name.startswith("gmm-engine") and name not in threads_seen \
                and gate["left"] > 0
            gate["left"] -= waiting
            threads_seen.add(name)
        if waiting:
            gate["barrier"].wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "chunk_pass", recording)
    fits = {}
    for threads in (1, 2, 3):
        monkeypatch.setenv(engine.THREADS_VARIABLE, str(threads))
        threads_seen.clear()
        gate.update(barrier=threading.Barrier(threads, timeout=20), left=threads)
        fits[threads] = gmm.em(X, theta, sample_weight=weight, tol=0.0, max_iter=3)
        # The passes really ran on that many threads (the main thread only adds).
        workers = {name for name in threads_seen if name.startswith("gmm-engine")}
        assert len(workers) == (0 if threads == 1 else threads)
    for threads in (2, 3):
        assert fits[threads].log_likelihoods == fits[1].log_likelihoods
        for name in ("weights", "means", "covariances"):
            np.testing.assert_array_equal(getattr(fits[threads].mixture, name),
                                          getattr(fits[1].mixture, name))
        np.testing.assert_array_equal(fits[threads].log_resp, fits[1].log_resp)
        np.testing.assert_array_equal(fits[threads].labels, fits[1].labels)


def test_the_number_of_threads_is_checked(monkeypatch):
    monkeypatch.setenv(engine.THREADS_VARIABLE, "0")
    with pytest.raises(ValueError, match="GMM_NUM_THREADS must be a positive integer"):
        engine.engine_threads()
    monkeypatch.delenv(engine.THREADS_VARIABLE)
    assert engine.engine_threads("factors") == len(os.sched_getaffinity(0))
    assert engine.engine_threads("quadratic") == 1
    cpus = len(os.sched_getaffinity(0))
    assert engine.engine_threads("quadratic", compiled=True) == cpus
    monkeypatch.setenv(engine.THREADS_VARIABLE, "3")
    assert engine.engine_threads("quadratic") == engine.engine_threads("factors") == 3


def test_a_pass_off_the_main_thread_stays_on_its_thread(monkeypatch):
    # A Dask task (or any thread of the user's) must not start threads of its own.
    monkeypatch.setenv(engine.THREADS_VARIABLE, "2")
    names = []
    monkeypatch.setattr(engine, "chunk_pass", lambda *a, _o=engine.chunk_pass, **k: (
        names.append(threading.current_thread().name), _o(*a, **k))[1])
    X, theta, _ = problem("full", 3, 0.0, False)
    worker = threading.Thread(target=engine.e_step_chunked, args=(X, theta),
                              kwargs={"labels": True}, name="user-thread")
    worker.start()
    worker.join()
    assert names and set(names) == {"user-thread"}


@pytest.mark.parametrize("covariance_type", TYPES)
def test_kmeans_and_moments_across_chunks(tiny_chunks, covariance_type):
    X, _, weight = problem(covariance_type, 3, 1e5, True, seed=4)
    centers, labels, inertia = gmm.kmeans(X, 3, random_state=0, sample_weight=weight)
    distances = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, distances.argmin(axis=1))
    assert inertia == pytest.approx(weight @ distances.min(axis=1), rel=1e-6)
    shift = engine.data_shift(X, weight)
    centred = X - shift
    np.testing.assert_allclose(engine.centred_moments(X, shift, weight),
                               (centred * weight[:, None]).T @ centred, rtol=1e-12)


# -- invariances of the whole fit -----------------------------------------------------------


def start_for(covariance_type, D):
    return gmm.Mixture(
        [0.5, 0.5], [np.full(D, -1.0), np.full(D, 1.5)],
        {"full": [np.eye(D)] * 2, "tied": np.eye(D), "diag": np.ones((2, D)),
         "spherical": np.ones(2)}[covariance_type], covariance_type)


def data(seed, D):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(30, D)) - 1.0, rng.normal(size=(23, D)) * 0.7 + 1.5])


def transformed(theta, s, b):
    covariances = {"full": lambda: theta.covariances * np.outer(s, s),
                   "tied": lambda: theta.covariances * np.outer(s, s),
                   "diag": lambda: theta.covariances * s**2,
                   "spherical": lambda: theta.covariances * s[0] ** 2}[theta.covariance_type]()
    return gmm.Mixture(theta.weights, theta.means * s + b, covariances, theta.covariance_type)


FIT = {"reg_covar": 0.0, "tol": 0.0, "max_iter": 8}


@settings(max_examples=40, deadline=None)
@given(covariance_type=st.sampled_from(TYPES), seed=st.integers(0, 10_000),
       log_scales=st.lists(st.floats(-6, 6), min_size=2, max_size=2))
def test_fit_is_equivariant_under_feature_rescaling(covariance_type, seed, log_scales):
    s = 10.0 ** np.array(log_scales)
    if covariance_type == "spherical":
        s = np.full(2, s[0])  # one variance per component: only a common factor is allowed
    X = data(seed, 2)
    base = gmm.em(X, start_for(covariance_type, 2), **FIT)
    scaled = gmm.em(X * s, transformed(start_for(covariance_type, 2), s, 0.0), **FIT)
    np.testing.assert_allclose(np.exp(scaled.log_resp), np.exp(base.log_resp), atol=1e-7)
    np.testing.assert_allclose(scaled.mixture.means / s, base.mixture.means, rtol=1e-6,
                               atol=1e-6)
    # ln p changes by the log-Jacobian of the change of units, the same at every iteration.
    jacobian = len(X) * np.sum(np.log(s))
    np.testing.assert_allclose(np.array(scaled.log_likelihoods) + jacobian,
                               base.log_likelihoods, rtol=1e-7, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(covariance_type=st.sampled_from(TYPES), seed=st.integers(0, 10_000),
       log_offset=st.floats(-3, 7), direction=st.lists(st.floats(-1, 1), min_size=3,
                                                       max_size=3))
def test_fit_is_translation_invariant(covariance_type, seed, log_offset, direction):
    b = 10.0**log_offset * np.array(direction)
    X = data(seed, 3)
    base = gmm.em(X, start_for(covariance_type, 3), **FIT)
    moved = gmm.em(X + b, transformed(start_for(covariance_type, 3), np.ones(3), b), **FIT)
    # The data themselves are rounded to |b| eps at the offset.
    atol = 1e-8 + 1e-9 * np.max(np.abs(b))
    np.testing.assert_allclose(np.exp(moved.log_resp), np.exp(base.log_resp), atol=atol)
    np.testing.assert_allclose(moved.mixture.covariances, base.mixture.covariances,
                               rtol=1e-6, atol=atol)


@settings(max_examples=30, deadline=None)
@given(covariance_type=st.sampled_from(TYPES), seed=st.integers(0, 10_000),
       log_c=st.floats(-20, 20))
def test_fit_does_not_depend_on_the_scale_of_the_weights(covariance_type, seed, log_c):
    X = data(seed, 2)
    w = np.random.default_rng(seed).uniform(0.1, 2.0, size=len(X))
    base = gmm.em(X, start_for(covariance_type, 2), sample_weight=w, **FIT)
    scaled = gmm.em(X, start_for(covariance_type, 2), sample_weight=10.0**log_c * w, **FIT)
    np.testing.assert_allclose(scaled.mixture.means, base.mixture.means, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(scaled.mixture.covariances, base.mixture.covariances,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scaled.lower_bound, base.lower_bound, rtol=1e-9)


# The monkeypatched chunk size is the same for every example.
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(covariance_type=st.sampled_from(TYPES), seed=st.integers(0, 10_000))
def test_fit_does_not_depend_on_the_order_of_the_rows(tiny_chunks, covariance_type, seed):
    X = data(seed, 2)
    order = np.random.default_rng(seed).permutation(len(X))
    base = gmm.em(X, start_for(covariance_type, 2), **FIT)
    shuffled = gmm.em(X[order], start_for(covariance_type, 2), **FIT)
    np.testing.assert_allclose(np.exp(shuffled.log_resp), np.exp(base.log_resp[order]),
                               atol=1e-9)
    np.testing.assert_allclose(shuffled.mixture.covariances, base.mixture.covariances,
                               rtol=1e-9)
