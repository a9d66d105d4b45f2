"""Initialisation (gmm/initialization.py): k-means against its own objective written here,
against a brute-force search over every assignment of tiny data, and the fixed-point
conditions of Lloyd's algorithm; k-means++ and the initial responsibilities."""

import itertools

import numpy as np
import pytest

import gmm
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
