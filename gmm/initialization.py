"""Starting points for EM: k-means (Lloyd's algorithm), k-means++ seeding, random starts."""

from __future__ import annotations

import numpy as np

from ._engine import chunk_rows, data_shift
from ._validation import (
    as_data,
    as_sample_weight,
    check_non_negative_real,
    check_positive_int,
    check_random_state,
)

__all__ = ["kmeans", "kmeans_plusplus", "initial_responsibilities", "INIT_METHODS"]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def _centred_augmented(X: np.ndarray, weight):
    """``[x_n - c, 1]`` in float64, shape ``(N, D + 1)``; ``||x_n - c||^2``, shape ``(N,)``;
    and ``c``, the weighted mean of the data.

    Centring makes every distance below translation-invariant: ``||x||^2 - 2 x.c + ||c||^2``
    about the origin cancels catastrophically for data far from it (at an offset of 1e10
    every distance would be rounding noise)."""
    shift = data_shift(X, weight)
    augmented = np.empty((X.shape[0], X.shape[1] + 1))
    np.subtract(X, shift, out=augmented[:, :-1])
    augmented[:, -1] = 1.0
    centred = augmented[:, :-1]
    return augmented, np.einsum("nd,nd->n", centred, centred), shift


def _assign(augmented: np.ndarray, squared_norms: np.ndarray, centers: np.ndarray):
    """The nearest centre of every point and the squared distance to it, chunk by chunk.

    ``||x - mu_k||^2 - ||x||^2 = [x, 1] @ [-2 mu_k; ||mu_k||^2]``: one product per chunk
    for every centre at once (the data and the centres are centred on the same ``c``)."""
    N = augmented.shape[0]
    K = centers.shape[0]
    coefficients = np.empty((augmented.shape[1], K))
    coefficients[:-1] = -2.0 * centers.T
    coefficients[-1] = np.einsum("kd,kd->k", centers, centers)
    labels = np.empty(N, dtype=np.intp)
    distances = np.empty(N)
    rows = chunk_rows(K)
    for start in range(0, N, rows):
        stop = min(start + rows, N)
        partial = augmented[start:stop] @ coefficients
        nearest = partial.argmin(axis=1)
        labels[start:stop] = nearest
        distances[start:stop] = partial[np.arange(stop - start), nearest]
    distances += squared_norms
    np.maximum(distances, 0.0, out=distances)  # rounding can take a distance below zero
    return labels, distances


def _draw_index(rng, probabilities_unnormalised: np.ndarray) -> int:
    # Inverse-CDF draw: with integer sample weights it picks the same point as a draw over
    # the data with each row repeated, which keeps weighted and repeated data equivalent.
    cumulative = np.cumsum(probabilities_unnormalised)
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(index, len(cumulative) - 1)


def _plusplus(centred: np.ndarray, n_clusters: int, rng, weight: np.ndarray) -> np.ndarray:
    """k-means++ indices on centred data: each distance to a new centre is formed from the
    differences (exact), ``O(N D)`` per centre."""
    indices = [_draw_index(rng, weight)]
    difference = centred - centred[indices[0]]
    closest = np.einsum("nd,nd->n", difference, difference)
    for _ in range(1, n_clusters):
        score = weight * closest
        if score.sum() <= 0:  # every point coincides with a centre: pick any unused point
            score = weight * (np.isin(np.arange(centred.shape[0]), indices, invert=True))
            if score.sum() <= 0:
                score = weight.copy()
        index = _draw_index(rng, score)
        indices.append(index)
        np.subtract(centred, centred[index], out=difference)
        np.minimum(closest, np.einsum("nd,nd->n", difference, difference), out=closest)
    return np.asarray(indices)


def kmeans_plusplus(X, n_clusters: int, random_state=None, sample_weight=None):
    """k-means++ seeding (Arthur and Vassilvitskii, 2007): the first centre is a point drawn
    with probability proportional to its weight, each next one with probability
    proportional to weight times the squared distance to the nearest centre chosen so far.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_clusters : int
    random_state : None, int or numpy.random.Generator
    sample_weight : array_like, shape (N,), optional

    Returns
    -------
    centers : ndarray, shape (n_clusters, D)
    indices : ndarray of int, shape (n_clusters,)
    """
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    X = as_data(X, min_samples=n_clusters)
    weight = as_sample_weight(sample_weight, X.shape[0])
    weight = np.ones(X.shape[0]) if weight is None else weight
    rng = check_random_state(random_state)
    augmented, _, _ = _centred_augmented(X, weight)
    indices = _plusplus(augmented[:, :-1], n_clusters, rng, weight)
    return np.array(X[indices], dtype=np.float64), indices


def _weighted_means(centred, labels, weight, n_clusters):
    """Per-cluster weighted sums and totals by ``bincount`` (``O(N D)``, no ``(N, K)``
    one-hot matrix)."""
    totals = np.bincount(labels, weights=weight, minlength=n_clusters)
    sums = np.empty((n_clusters, centred.shape[1]))
    for d in range(centred.shape[1]):
        sums[:, d] = np.bincount(labels, weights=weight * centred[:, d], minlength=n_clusters)
    return sums, totals


def kmeans(X, n_clusters: int, random_state=None, max_iter: int = 300, sample_weight=None,
           tol: float = 1e-4):
    """Lloyd's algorithm for k-means, started from k-means++ seeds.

    Minimises ``J = sum_n sum_k r_nk ||x_n - mu_k||^2`` (eq. :eq:`kmeans-objective`) by
    alternating the assignment of every point to its nearest centre and the move of every
    centre to the (weighted) mean of its points. A cluster left empty is re-seeded at the
    point farthest from its centre. The data are centred first, so the result does not
    depend on where the origin is.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_clusters : int
    random_state : None, int or numpy.random.Generator
    max_iter : int, default 300
    sample_weight : array_like, shape (N,), optional
    tol : float, default 1e-4
        scikit-learn's rule: stop when the squared distances the centres move, summed over
        the centres, fall to ``tol`` times the mean variance of the features; or when no
        assignment changes.

    Returns
    -------
    centers : ndarray, shape (n_clusters, D)
    labels : ndarray of int, shape (N,)
    inertia : float
        ``J`` at the returned centres and labels.
    """
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_non_negative_real(tol, "tol")
    X = as_data(X, min_samples=n_clusters)
    weight = as_sample_weight(sample_weight, X.shape[0])
    weight = np.ones(X.shape[0]) if weight is None else weight
    rng = check_random_state(random_state)
    augmented, squared_norms, shift = _centred_augmented(X, weight)
    centred = augmented[:, :-1]
    centers = centred[_plusplus(centred, n_clusters, rng, weight)].copy()
    # The data are centred, so the mean of the squared norms is the total variance.
    threshold = tol * float(weight @ squared_norms) / (weight.sum() * X.shape[1])
    labels = None
    for _ in range(max_iter):
        new_labels, distances = _assign(augmented, squared_norms, centers)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sums, totals = _weighted_means(centred, labels, weight, n_clusters)
        new_centers = centers.copy()
        filled = totals > 0
        new_centers[filled] = sums[filled] / totals[filled, None]
        for k in np.flatnonzero(~filled):
            farthest = int(np.argmax(distances * weight))
            new_centers[k] = centred[farthest]
            labels[farthest] = k
            distances[farthest] = 0.0
        moved = float(np.sum((new_centers - centers) ** 2))
        centers = new_centers
        if moved <= threshold:
            break
    labels, distances = _assign(augmented, squared_norms, centers)
    inertia = float(weight @ distances)
    return centers + shift, labels, inertia


def initial_responsibilities(X, n_components: int, method: str = "kmeans", random_state=None,
                             sample_weight=None) -> np.ndarray:
    """Responsibilities to start EM from (the first M-step turns them into ``theta``).

    - ``kmeans``: one-hot labels of :func:`kmeans`;
    - ``k-means++``: one-hot assignment of every point to its nearest k-means++ seed;
    - ``random_from_data``: one-hot assignment to the nearest of ``K`` points drawn
      uniformly from the data without replacement;
    - ``random``: uniform random numbers, each row normalised to sum to one.

    (scikit-learn's ``k-means++`` and ``random_from_data`` give responsibility only to the
    ``K`` seed points, which starts EM from components of variance ``reg_covar``; assigning
    every point to its nearest seed starts from sensible covariances.)

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_components : int
    method : {"kmeans", "k-means++", "random", "random_from_data"}
    random_state : None, int or numpy.random.Generator
    sample_weight : array_like, shape (N,), optional

    Returns
    -------
    ndarray, shape (N, n_components)
    """
    if method not in INIT_METHODS:
        raise ValueError(f"Unknown init_params {method!r}; choose one of {list(INIT_METHODS)}.")
    n_components = check_positive_int(n_components, "n_components")
    X = as_data(X, min_samples=n_components)
    rng = check_random_state(random_state)
    n_samples = X.shape[0]
    if method == "random":
        resp = rng.uniform(size=(n_samples, n_components))
        return resp / resp.sum(axis=1, keepdims=True)
    if method == "kmeans":
        _, labels, _ = kmeans(X, n_components, rng, sample_weight=sample_weight)
    else:
        weight = as_sample_weight(sample_weight, n_samples)
        augmented, squared_norms, _ = _centred_augmented(X, weight)
        if method == "k-means++":
            unit = np.ones(n_samples) if weight is None else weight
            indices = _plusplus(augmented[:, :-1], n_components, rng, unit)
        else:
            indices = rng.choice(n_samples, size=n_components, replace=False)
        labels, _ = _assign(augmented, squared_norms, augmented[indices, :-1])
    resp = np.zeros((n_samples, n_components))
    resp[np.arange(n_samples), labels] = 1.0
    return resp
