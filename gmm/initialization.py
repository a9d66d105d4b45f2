"""Starting points for EM: k-means (Lloyd's algorithm), k-means++ seeding, random starts."""

from __future__ import annotations

import numpy as np

from ._validation import as_data, as_sample_weight, check_positive_int, check_random_state

__all__ = ["kmeans", "kmeans_plusplus", "initial_responsibilities", "INIT_METHODS"]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def _squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """``||x_n - c_k||^2``, shape ``(N, K)``; clipped at 0 against rounding."""
    distances = (
        np.einsum("nd,nd->n", X, X)[:, None]
        - 2.0 * X @ centers.T
        + np.einsum("kd,kd->k", centers, centers)[None, :]
    )
    return np.maximum(distances, 0.0)


def _draw_index(rng, probabilities_unnormalised: np.ndarray) -> int:
    # Inverse-CDF draw: with integer sample weights it picks the same point as a draw over
    # the data with each row repeated, which keeps weighted and repeated data equivalent.
    cumulative = np.cumsum(probabilities_unnormalised)
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(index, len(cumulative) - 1)


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
    indices = [_draw_index(rng, weight)]
    closest = _squared_distances(X, X[indices])[:, 0]
    for _ in range(1, n_clusters):
        score = weight * closest
        if score.sum() <= 0:  # every point coincides with a centre: pick any unused point
            score = weight * (np.isin(np.arange(X.shape[0]), indices, invert=True))
            if score.sum() <= 0:
                score = weight.copy()
        index = _draw_index(rng, score)
        indices.append(index)
        closest = np.minimum(closest, _squared_distances(X, X[[index]])[:, 0])
    indices = np.asarray(indices)
    return X[indices].copy(), indices


def kmeans(X, n_clusters: int, random_state=None, max_iter: int = 300, sample_weight=None,
           tol: float = 1e-10):
    """Lloyd's algorithm for k-means, started from k-means++ seeds.

    Minimises ``J = sum_n sum_k r_nk ||x_n - mu_k||^2`` (eq. :eq:`kmeans-objective`) by
    alternating the assignment of every point to its nearest centre and the move of every
    centre to the (weighted) mean of its points. A cluster left empty is re-seeded at the
    point farthest from its centre.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_clusters : int
    random_state : None, int or numpy.random.Generator
    max_iter : int, default 300
    sample_weight : array_like, shape (N,), optional
    tol : float, default 1e-10
        Stop when no centre moves by more than this (squared distance, relative to the
        data's variance), or when no assignment changes.

    Returns
    -------
    centers : ndarray, shape (n_clusters, D)
    labels : ndarray of int, shape (N,)
    inertia : float
        ``J`` at the returned centres and labels.
    """
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    max_iter = check_positive_int(max_iter, "max_iter")
    X = as_data(X, min_samples=n_clusters)
    weight = as_sample_weight(sample_weight, X.shape[0])
    weight = np.ones(X.shape[0]) if weight is None else weight
    rng = check_random_state(random_state)
    centers, _ = kmeans_plusplus(X, n_clusters, rng, weight)
    scale = max(float(np.mean(np.var(X, axis=0))), np.finfo(float).tiny)
    labels = None
    for _ in range(max_iter):
        distances = _squared_distances(X, centers)
        new_labels = np.argmin(distances, axis=1)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        new_centers = centers.copy()
        for k in range(n_clusters):
            members = labels == k
            total = weight[members].sum()
            if total > 0:
                new_centers[k] = weight[members] @ X[members] / total
            else:
                farthest = int(np.argmax(distances[np.arange(X.shape[0]), labels] * weight))
                new_centers[k] = X[farthest]
                labels[farthest] = k
        shift = np.max(np.sum((new_centers - centers) ** 2, axis=1)) / scale
        centers = new_centers
        if shift <= tol:
            break
    distances = _squared_distances(X, centers)
    labels = np.argmin(distances, axis=1)
    inertia = float(weight @ distances[np.arange(X.shape[0]), labels])
    return centers, labels, inertia


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
        if method == "k-means++":
            centers, _ = kmeans_plusplus(X, n_components, rng, sample_weight)
        else:
            centers = X[rng.choice(n_samples, size=n_components, replace=False)]
        labels = np.argmin(_squared_distances(X, centers), axis=1)
    resp = np.zeros((n_samples, n_components))
    resp[np.arange(n_samples), labels] = 1.0
    return resp
