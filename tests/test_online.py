"""Online (stepwise) EM, gmm.online and GaussianMixture.partial_fit.

Oracles: the batch statistics written out with numpy (for the update rule), the batch EM
optimum on the same distribution (for a stationary stream), and the true, moving
distribution (for a drifting one).
"""

import copy

import numpy as np
import pytest
from oracles import synthetic_data

import gmm
import gmm.online as online

TRUTH = gmm.Mixture(
    [0.5, 0.3, 0.2],
    [[0.0, 0.0], [4.0, 2.0], [-2.0, 4.0]],
    [[[1.0, 0.4], [0.4, 1.5]], [[1.2, -0.3], [-0.3, 0.8]], [[0.6, 0.0], [0.0, 1.0]]],
)


def test_step_sizes_follow_the_schedule():
    assert online.step_size(0, 0.7, 2.0) == 1.0
    for t in (1, 5, 100):
        assert online.step_size(t, 0.7, 2.0) == pytest.approx((t + 2.0) ** -0.7, rel=1e-15)


@pytest.mark.parametrize("rho", [0.5, 0.3, 1.5, True])
def test_step_exponent_outside_the_robbins_monro_range_is_refused(rho):
    X = synthetic_data(n=100)
    with pytest.raises(ValueError, match=r"step_exponent must be in \(0.5, 1\]"):
        gmm.GaussianMixture(3, step_exponent=rho).partial_fit(X)


def test_steps_of_one_over_t_average_the_batches():
    """With eta_t = 1 / (t + 1) and theta held fixed, s_t is the mean of the batches'
    statistics: the statistics of all the data, divided by N (written out here)."""
    X = synthetic_data(seed=4, n=1200) + 1e5
    theta = gmm.Mixture(TRUTH.weights, TRUTH.means + 1e5, TRUTH.covariances)
    running = None
    for t, batch in enumerate(np.split(X, 6)):
        new = online.batch_statistics(batch, None, theta)[1]
        running = new if t == 0 else online.stepwise_update(running, new, 1.0 / (t + 1))
    resp = gmm.responsibilities(X, theta)
    counts = resp.sum(axis=0)
    centred = X - 1e5
    sums = resp.T @ centred
    moments = np.einsum("nk,nd,ne->kde", resp, centred, centred)
    np.testing.assert_allclose(running.counts, counts / 1200, rtol=1e-12)
    np.testing.assert_allclose(running.sums - 1e5 * running.counts[:, None], sums / 1200,
                               rtol=1e-8, atol=1e-10)
    c = running.shift - 1e5
    s = running.centred_sums
    about_origin = (running.centred_second_moments + s[:, :, None] * c + c[:, None] * s[:, None]
                    + running.counts[:, None, None] * np.outer(c, c))
    np.testing.assert_allclose(about_origin, moments / 1200, rtol=1e-9)


def stream(n_batches, batch_size, seed, drift=0.0):
    """Batches from TRUTH with every mean moved by ``drift * t / n_batches`` along (1, 1)."""
    rng = np.random.default_rng(seed)
    for t in range(n_batches):
        batch, _ = gmm.sample(TRUTH, batch_size, random_state=rng)
        yield batch + drift * t / n_batches


def test_stationary_stream_reaches_the_batch_optimum():
    """After 200 batches of 500 points, online EM's held-out ln p per point is within
    0.01 nats of the batch EM fit on 100 000 points (both far below the gap to K = 2)."""
    test_set, _ = gmm.sample(TRUTH, 20_000, random_state=99)
    data = np.concatenate(list(stream(200, 500, seed=1)))
    batch = gmm.GaussianMixture(3, random_state=0, tol=1e-6).fit(data)
    for averaging in (False, True):
        model = gmm.GaussianMixture(3, random_state=0, step_averaging=averaging)
        for piece in stream(200, 500, seed=1):
            assert model.partial_fit(piece) is model
        assert model.score(test_set) == pytest.approx(batch.score(test_set), abs=0.01)
    smaller = gmm.GaussianMixture(2, random_state=0).fit(data)
    assert batch.score(test_set) - smaller.score(test_set) > 0.1


def test_drifting_stream_is_tracked():
    """The means drift by 3 along (1, 1) over the stream: online EM's ln p per point on
    the last batches stays within 0.1 nats of the moving truth's (the lag of steps
    ``(t + 2)^-0.55``, about 1/23 at the end), a model frozen after the first tenth of the
    stream falls more than 1 nat behind."""
    model = gmm.GaussianMixture(3, random_state=0, step_exponent=0.55, step_offset=2.0)
    frozen = None
    n_batches = 300
    gaps, frozen_gaps = [], []
    for t, piece in enumerate(stream(n_batches, 400, seed=2, drift=3.0)):
        if t >= n_batches - 20:
            moved = gmm.Mixture(TRUTH.weights, TRUTH.means + 3.0 * t / n_batches,
                                TRUTH.covariances)
            best = gmm.log_likelihood(piece, moved) / len(piece)
            gaps.append(best - model.score(piece))
            frozen_gaps.append(best - frozen.score(piece))
        model.partial_fit(piece)
        if t == n_batches // 10:
            frozen = copy.deepcopy(model)
    assert np.mean(gaps) < 0.1
    assert np.mean(frozen_gaps) > 1.0


def test_fit_on_a_stream_is_partial_fit_on_each_batch():
    batches = list(stream(30, 300, seed=5))
    by_steps = gmm.GaussianMixture(3, random_state=0, covariance_type="diag")
    for piece in batches:
        by_steps.partial_fit(piece)
    by_fit = gmm.GaussianMixture(3, random_state=0, covariance_type="diag").fit(iter(batches))
    np.testing.assert_array_equal(by_fit.means_, by_steps.means_)
    np.testing.assert_array_equal(by_fit.covariances_, by_steps.covariances_)
    again = gmm.GaussianMixture(3, random_state=0, covariance_type="diag").fit(batches)
    np.testing.assert_array_equal(again.weights_, by_steps.weights_)
    assert by_fit.n_iter_ == 30 and by_fit.n_features_in_ == 2


def test_partial_fit_checks_the_number_of_features():
    model = gmm.GaussianMixture(3, random_state=0).partial_fit(synthetic_data(n=300))
    with pytest.raises(ValueError, match="3 features, but GaussianMixture is expecting 2"):
        model.partial_fit(np.zeros((50, 3)))


@pytest.mark.parametrize("covariance_type", ["tied", "spherical"])
def test_every_covariance_type_steps(covariance_type):
    model = gmm.GaussianMixture(3, covariance_type=covariance_type, random_state=0)
    for piece in stream(40, 300, seed=6):
        model.partial_fit(piece)
    test_set, _ = gmm.sample(TRUTH, 5000, random_state=7)
    batch = gmm.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(
        np.concatenate(list(stream(40, 300, seed=6))))
    assert model.score(test_set) == pytest.approx(batch.score(test_set), abs=0.03)
