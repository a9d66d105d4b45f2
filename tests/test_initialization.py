"""Initialisation (gmm/initialization.py): k-means against its own objective written here,
against a brute-force search over every assignment of tiny data, the fixed-point conditions
of Lloyd's algorithm and scikit-learn's Lloyd from the same seeds (same stopping rule);
greedy k-means++ against scikit-learn's from the same generator; the initial
responsibilities."""

import itertools

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.cluster._kmeans import _kmeans_plusplus
from sklearn.metrics import pairwise_distances_argmin

import gmm
from gmm import blocks
from gmm.initialization import INIT_METHODS


def objective(X, centers, labels, weight=None):
    weight = np.ones(len(X)) if weight is None else weight
    return float(sum(w * np.sum((x - centers[k]) ** 2)
                     for x, k, w in zip(X, labels, weight, strict=True)))


def blobs(seed, n=60):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 7.0]])
    labels = rng.integers(0, 3, size=n)
    return centres[labels] + rng.normal(size=(n, 2))


@pytest.mark.parametrize("seed", range(5))
def test_kmeans_decreases_objective_from_its_seeds(seed):
    X = blobs(seed)
    seeds, _ = gmm.kmeans_plusplus(X, 3, random_state=seed)
    # Lloyd starts from the same k-means++ draw (same seed): the objective at the seeds,
    # with every point assigned to its nearest seed, bounds the result from above.
    nearest = np.argmin(((X[:, None] - seeds[None]) ** 2).sum(axis=2), axis=1)
    start = objective(X, seeds, nearest)
    centers, labels, inertia = gmm.kmeans(X, 3, random_state=seed)
    assert inertia == pytest.approx(objective(X, centers, labels), rel=1e-10)
    assert inertia <= start + 1e-9
    # A fixed point of Lloyd's algorithm: each point at its nearest centre, each centre the
    # mean of its points.
    distances = ((X[:, None] - centers[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, np.argmin(distances, axis=1))
    for k in range(3):
        np.testing.assert_allclose(centers[k], X[labels == k].mean(axis=0), rtol=1e-12)


def test_kmeans_matches_brute_force_on_tiny_data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(3, 2)), rng.normal(size=(3, 2)) + [3.0, 0.0],
                   rng.normal(size=(2, 2)) + [0.0, 4.0]])
    K = 3
    best = np.inf
    for assignment in itertools.product(range(K), repeat=len(X)):  # all 3^8 assignments
        labels = np.array(assignment)
        if len(set(assignment)) < K:
            continue
        # For a fixed assignment the best centres are the cluster means.
        best = min(best, sum(np.sum((X[labels == k] - X[labels == k].mean(axis=0)) ** 2)
                             for k in range(K)))
    inertias = [gmm.kmeans(X, K, random_state=seed)[2] for seed in range(10)]
    # No run can beat the global optimum, and the best of ten k-means++ starts reaches it.
    assert min(inertias) >= best - 1e-9
    assert min(inertias) == pytest.approx(best, rel=1e-10)


def test_kmeans_with_integer_weights_equals_repeated_rows():
    X = blobs(1, n=30)
    counts = np.random.default_rng(2).integers(1, 4, size=30)
    weighted = gmm.kmeans(X, 3, random_state=7, sample_weight=counts.astype(float))
    repeated = gmm.kmeans(np.repeat(X, counts, axis=0), 3, random_state=7)
    np.testing.assert_allclose(weighted[0], repeated[0], rtol=1e-12)
    assert weighted[2] == pytest.approx(repeated[2], rel=1e-12)
    assert weighted[2] == pytest.approx(objective(X, weighted[0], weighted[1], counts),
                                        rel=1e-10)


def test_kmeans_plusplus_picks_distinct_data_points():
    X = blobs(3)
    centers, indices = gmm.kmeans_plusplus(X, 3, random_state=0)
    assert len(set(indices.tolist())) == 3
    np.testing.assert_array_equal(centers, X[indices])
    # Duplicated data: still K centres, no crash.
    Y = np.repeat([[0.0, 0.0], [1.0, 1.0]], 5, axis=0)
    centers, indices = gmm.kmeans_plusplus(Y, 3, random_state=0)
    assert centers.shape == (3, 2)


def test_kmeans_plusplus_spreads_seeds():
    # Three tight, far-apart clusters: k-means++ should almost always seed one in each.
    X = np.vstack([np.random.default_rng(0).normal(scale=0.01, size=(20, 2)) + c
                   for c in ([0, 0], [100, 0], [0, 100])])
    hits = 0
    for seed in range(20):
        _, indices = gmm.kmeans_plusplus(X, 3, random_state=seed)
        hits += len(set((indices // 20).tolist())) == 3
    assert hits >= 19


@pytest.mark.parametrize("method", INIT_METHODS)
def test_initial_responsibilities(method):
    X = blobs(4)
    resp = gmm.initial_responsibilities(X, 3, method=method, random_state=0)
    assert resp.shape == (60, 3)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(resp >= 0)
    if method != "random":
        assert set(np.unique(resp)) <= {0.0, 1.0}
        assert np.all(resp.sum(axis=0) > 0)  # every component gets points here
    again = gmm.initial_responsibilities(X, 3, method=method, random_state=0)
    np.testing.assert_array_equal(resp, again)


def test_initial_responsibilities_kmeans_labels():
    X = blobs(5)
    resp = gmm.initial_responsibilities(X, 3, "kmeans", random_state=11)
    _, labels, _ = gmm.kmeans(X, 3, random_state=11)
    np.testing.assert_array_equal(resp.argmax(axis=1), labels)


def test_unknown_method_and_bad_counts():
    X = blobs(6)
    with pytest.raises(ValueError, match="Unknown init_params 'bogus'"):
        gmm.initial_responsibilities(X, 2, method="bogus")
    with pytest.raises(ValueError, match="n_clusters must be an integer >= 1"):
        gmm.kmeans(X, 0)
    with pytest.raises(ValueError, match="at least 100 are needed"):
        gmm.kmeans(X, 100)


def sklearn_plusplus(X, n_clusters, seed, weight=None, n_local_trials=None):
    # scikit-learn's greedy k-means++ only calls ``choice(N, p=...)`` and ``uniform(size=L)``
    # on its generator: a numpy Generator seeded alike must give the same draws.
    weight = np.ones(len(X)) if weight is None else weight
    _, indices = _kmeans_plusplus(X, n_clusters, np.einsum("nd,nd->n", X, X), weight,
                                  np.random.default_rng(seed), n_local_trials=n_local_trials)
    return indices


@pytest.mark.parametrize("seed", range(12))
def test_kmeans_plusplus_is_scikit_learns_greedy_rule(seed):
    rng = np.random.default_rng(100 + seed)
    X = rng.normal(size=(400, 3)) + 6.0 * rng.integers(0, 5, size=(400, 1))
    weight = rng.uniform(0.2, 3.0, size=400) if seed % 2 else None
    n_clusters = 2 + seed
    _, indices = gmm.kmeans_plusplus(X, n_clusters, seed, sample_weight=weight,
                                     n_local_trials=None)
    np.testing.assert_array_equal(indices, sklearn_plusplus(X, n_clusters, seed, weight))
    # One candidate per step is the paper's plain k-means++.
    _, plain = gmm.kmeans_plusplus(X, n_clusters, seed, sample_weight=weight, n_local_trials=1)
    np.testing.assert_array_equal(plain, sklearn_plusplus(X, n_clusters, seed, weight, 1))


def test_greedy_seeding_lowers_the_potential_on_average():
    # With 2 + ln K candidates the seeds' potential is below plain k-means++'s on average.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2000, 2)) + 4.0 * rng.integers(0, 20, size=(2000, 2))

    def potential(centers):
        return float(((X[:, None] - centers[None]) ** 2).sum(axis=2).min(axis=1).sum())

    greedy = [potential(gmm.kmeans_plusplus(X, 30, s, n_local_trials=None)[0]) for s in range(10)]
    plain = [potential(gmm.kmeans_plusplus(X, 30, s, n_local_trials=1)[0]) for s in range(10)]
    assert np.mean(greedy) < 0.8 * np.mean(plain)


@pytest.mark.parametrize("seed", range(6))
def test_kmeans_is_scikit_learns_lloyd_from_the_same_seeds(seed):
    rng = np.random.default_rng(seed)
    n_clusters = 4 + seed
    X = (rng.normal(size=(3000, 4)) + 3.0 * rng.normal(size=(n_clusters, 4))[
        rng.integers(0, n_clusters, size=3000)]) + 1e6  # far from the origin, on purpose
    seeds, _ = gmm.kmeans_plusplus(X, n_clusters, seed, n_local_trials=None)
    for tol in (1e-4, 0.0):  # scikit-learn's tolerance, and running to the fixed point
        centers, labels, inertia = gmm.kmeans(X, n_clusters, seed, tol=tol,
                                              n_local_trials=None)
        theirs = KMeans(n_clusters, init=seeds, n_init=1, tol=tol, algorithm="lloyd").fit(X)
        np.testing.assert_array_equal(labels, theirs.labels_)
        np.testing.assert_allclose(centers - 1e6, theirs.cluster_centers_ - 1e6, rtol=1e-9,
                                   atol=1e-9)
        assert inertia == pytest.approx(theirs.inertia_, rel=1e-9)
        # and the labels are the nearest centres by scikit-learn's own distances
        np.testing.assert_array_equal(labels, pairwise_distances_argmin(X - 1e6,
                                                                        centers - 1e6))


def test_kmeans_blocks_stops_by_the_same_rule():
    # Lloyd over blocks from the same seeds: the same centres as scikit-learn's Lloyd with
    # the same tolerance, wherever the blocks cut the data.
    rng = np.random.default_rng(8)
    X = rng.normal(size=(5000, 3)) + 2.5 * rng.normal(size=(6, 3))[rng.integers(0, 6, 5000)]
    seeds, _ = gmm.kmeans_plusplus(X, 6, 3)
    for tol in (1e-4, 1e-2):
        theirs = KMeans(6, init=seeds, n_init=1, tol=tol, algorithm="lloyd").fit(X)
        for rows in (None, 700):
            passes = blocks.LocalPasses(X, block_rows=rows)
            centres, inertia = blocks.kmeans_blocks(passes, seeds, max_iter=300, tol=tol)
            np.testing.assert_allclose(centres, theirs.cluster_centers_, rtol=1e-10)


def test_kmeans_blocks_with_integer_weights_is_lloyd_on_repeated_rows():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(1500, 2)) + 3.0 * rng.normal(size=(5, 2))[rng.integers(0, 5, 1500)]
    counts = rng.integers(1, 5, size=1500)
    seeds, _ = gmm.kmeans_plusplus(X, 5, 4, sample_weight=counts.astype(float))
    passes = blocks.LocalPasses(X, counts.astype(float), block_rows=400)
    for tol in np.geomspace(1e-5, 1e-1, 9):  # one of these stops where the count matters
        theirs = KMeans(5, init=seeds, n_init=1, tol=tol, algorithm="lloyd").fit(
            np.repeat(X, counts, axis=0))
        centres, _ = blocks.kmeans_blocks(passes, seeds, max_iter=300, tol=tol)
        np.testing.assert_allclose(centres, theirs.cluster_centers_, rtol=1e-10)


def test_kmeans_on_worker_threads_is_the_serial_result(monkeypatch):
    # 20000 rows: above the threaded threshold (on a machine with two or more cores the
    # chunks are shared out); the same bits as one thread, and scikit-learn's Lloyd.
    from gmm import initialization

    rng = np.random.default_rng(12)
    X = rng.normal(size=(20_000, 3)) + 4.0 * rng.normal(size=(7, 3))[rng.integers(0, 7, 20_000)]
    threaded = gmm.kmeans(X, 7, random_state=3, n_local_trials=None)
    seeds_threaded = gmm.kmeans_plusplus(X, 7, random_state=3, n_local_trials=None)[1]
    np.testing.assert_array_equal(seeds_threaded, sklearn_plusplus(X, 7, 3))  # five chunks
    monkeypatch.setattr(initialization, "_THREADED_ROWS", 10**9)
    serial = gmm.kmeans(X, 7, random_state=3, n_local_trials=None)
    np.testing.assert_array_equal(seeds_threaded, gmm.kmeans_plusplus(X, 7, random_state=3,
                                                                   n_local_trials=None)[1])
    np.testing.assert_array_equal(threaded[1], serial[1])
    np.testing.assert_array_equal(threaded[0], serial[0])
    assert threaded[2] == serial[2]
    theirs = KMeans(7, init=gmm.kmeans_plusplus(X, 7, random_state=3,
                                          n_local_trials=None)[0], n_init=1,
                    algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(threaded[1], theirs.labels_)


@pytest.mark.parametrize("seed", range(3))
def test_kmeans_plusplus_over_many_chunks_is_scikit_learns(seed):
    # Uniform data (no clusters to make the choice easy), five chunks of the potentials.
    X = np.random.default_rng(seed).uniform(size=(20_000, 2))
    _, indices = gmm.kmeans_plusplus(X, 20, seed, n_local_trials=None)
    np.testing.assert_array_equal(indices, sklearn_plusplus(X, 20, seed))


def test_default_seeds_are_scikit_learns_greedy_kmeans_plusplus():
    """The default seeds of kmeans_plusplus, kmeans, GaussianMixture's start (in memory and
    at scale) are scikit-learn's greedy k-means++ from the same draws; the oracles are
    scikit-learn's seeding and its Lloyd from those seeds."""
    # Uniform data: no clusters, so where Lloyd ends depends on the seeds.
    X = np.random.default_rng(4).uniform(size=(2000, 2))
    theirs_seeds = sklearn_plusplus(X, 20, 9)
    assert not np.array_equal(theirs_seeds, sklearn_plusplus(X, 20, 9, n_local_trials=1))
    np.testing.assert_array_equal(gmm.kmeans_plusplus(X, 20, 9)[1], theirs_seeds)
    _, labels, _ = gmm.kmeans(X, 20, 9)
    theirs = KMeans(20, init=X[theirs_seeds], n_init=1, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(labels, theirs.labels_)
    resp = gmm.initialization.initial_responsibilities(X, 20, "kmeans", 9)
    np.testing.assert_array_equal(resp.argmax(axis=1), labels)
    # "k-means++": every point to its nearest seed.
    resp = gmm.initialization.initial_responsibilities(X, 20, "k-means++", 9)
    nearest = ((X[:, None] - X[theirs_seeds][None]) ** 2).sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(resp.argmax(axis=1), nearest)
    # At scale the seeds are drawn on a sample of the rows, which is every row here (fewer
    # than SEED_SAMPLE_ROWS), without a draw: the first draws are the seeds'.
    assert len(X) < blocks.SEED_SAMPLE_ROWS
    theta = blocks.initial_mixture(blocks.LocalPasses(X), 20, "full", "k-means++",
                                   np.random.default_rng(9), 1e-6)
    np.testing.assert_allclose(theta.means, [X[nearest == k].mean(axis=0) for k in range(20)],
                               rtol=1e-12)
