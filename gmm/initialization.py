"""Starting points for EM: k-means (Lloyd's algorithm), greedy k-means++ seeding, random
starts."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._engine import chunk_rows, data_shift
from ._validation import (
    as_data,
    as_sample_weight,
    check_non_negative_real,
    check_positive_int,
    check_random_state,
)

__all__ = ["kmeans", "kmeans_plusplus", "initial_responsibilities", "default_local_trials",
           "augmented_about", "nearest_centres", "cluster_sums", "INIT_METHODS"]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def augmented_about(X: np.ndarray, shift: np.ndarray):
    """The data about a centre ``c``, augmented by a column of ones.

    Parameters
    ----------
    X : ndarray, shape (N, D)
    shift : ndarray, shape (D,)
        ``c``.

    Returns
    -------
    augmented : ndarray, shape (N, D + 1)
        ``[x_n - c, 1]`` in float64.
    squared_norms : ndarray, shape (N,)
        ``||x_n - c||^2``.
    """
    augmented = np.empty((X.shape[0], X.shape[1] + 1))
    np.subtract(X, shift, out=augmented[:, :-1])
    augmented[:, -1] = 1.0
    centred = augmented[:, :-1]
    return augmented, np.einsum("nd,nd->n", centred, centred)


def _centred_augmented(X: np.ndarray, weight):
    """``[x_n - c, 1]`` in float64, shape ``(N, D + 1)``; ``||x_n - c||^2``, shape ``(N,)``;
    and ``c``, the weighted mean of the data.

    Centring makes every distance below translation-invariant: ``||x||^2 - 2 x.c + ||c||^2``
    about the origin cancels catastrophically for data far from it (at an offset of 1e10
    every distance would be rounding noise)."""
    shift = data_shift(X, weight)
    augmented, squared_norms = augmented_about(X, shift)
    return augmented, squared_norms, shift


def _centre_coefficients(centers: np.ndarray) -> np.ndarray:
    """``[-2 mu_k; ||mu_k||^2]``, shape ``(D + 1, K)``: with ``[x, 1]`` on the left, the
    product is ``||x - mu_k||^2 - ||x||^2`` for every centre at once."""
    coefficients = np.empty((centers.shape[1] + 1, centers.shape[0]))
    coefficients[:-1] = -2.0 * centers.T
    coefficients[-1] = np.einsum("kd,kd->k", centers, centers)
    return coefficients


#: Below this many rows the assignment runs on one thread (threads cost more than they save).
_THREADED_ROWS = 16384


@contextlib.contextmanager
def _assignment_threads(n_rows: int):
    """A pool of one worker per core for :func:`nearest_centres`, BLAS held at one thread
    meanwhile (threadpoolctl; two threads each calling a threaded BLAS ran slower than one);
    ``None`` (serial) for small data, one core, off the main thread or without
    threadpoolctl."""
    cores = os.cpu_count() or 1
    if (n_rows < _THREADED_ROWS or cores < 2
            or threading.current_thread() is not threading.main_thread()):
        yield None
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield None
        return
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(cores) as pool:
        yield pool


def nearest_centres(augmented: np.ndarray, squared_norms: np.ndarray, centers: np.ndarray,
                    with_distances: bool = True, pool=None):
    """The nearest centre of every point and the squared distance to it, chunk by chunk:
    the assignment step of eq. :eq:`kmeans-objective`.

    ``||x - mu_k||^2 - ||x||^2 = [x, 1] @ [-2 mu_k; ||mu_k||^2]``: one product per chunk
    for every centre at once. The data and the centres must be centred on the same ``c``
    (then nothing cancels catastrophically).

    Parameters
    ----------
    augmented : ndarray, shape (N, D + 1)
        ``[x_n - c, 1]`` (:func:`augmented_about`).
    squared_norms : ndarray, shape (N,)
        ``||x_n - c||^2``.
    centers : ndarray, shape (K, D)
        The centres minus ``c``.
    with_distances : bool, default True
        Without it the distances are ``None``: Lloyd's loop needs only the labels, and
        gathering the distances costs a quarter of the pass.
    pool : concurrent.futures.ThreadPoolExecutor, optional
        Workers that share the chunks (BLAS should be at one thread meanwhile).

    Returns
    -------
    labels : ndarray of int, shape (N,)
    distances : ndarray, shape (N,), or None
        ``||x_n - mu_{labels_n}||^2``, clipped at zero against rounding.
    """
    N = augmented.shape[0]
    coefficients = _centre_coefficients(centers)
    labels = np.empty(N, dtype=np.intp)
    distances = np.empty(N) if with_distances else None
    rows = chunk_rows(max(centers.shape[0], 8))  # at most 4096 rows: unthreaded products

    def assign_rows(first: int, last: int):
        # The chunks are the same whichever thread runs them: the labels do not depend on
        # the number of threads.
        for start in range(first, last, rows):
            stop = min(start + rows, last)
            partial = augmented[start:stop] @ coefficients
            nearest = np.argmin(partial, axis=1, out=labels[start:stop])
            if with_distances:
                distances[start:stop] = partial[np.arange(stop - start), nearest]

    _run(pool, assign_rows, *_split(list(range(0, N, rows)), N, pool))
    if with_distances:
        distances += squared_norms
        np.maximum(distances, 0.0, out=distances)
    return labels, distances


def _split(starts: list, n_rows: int, pool):
    """Chunk starts shared out over the workers: ``(first, last)`` row bounds per worker."""
    workers = 1 if pool is None else min(os.cpu_count() or 1, len(starts))
    cut = [starts[i] for i in np.linspace(0, len(starts), workers + 1, dtype=int)[:-1]]
    return cut, cut[1:] + [n_rows]


def _run(pool, function, firsts, lasts):
    if pool is None or len(firsts) < 2:
        for first, last in zip(firsts, lasts, strict=True):
            function(first, last)
    else:
        list(pool.map(function, firsts, lasts))


def _nearest_with(augmented: np.ndarray, squared_norms: np.ndarray, points: np.ndarray,
                  closest: np.ndarray, weight: np.ndarray, keep: bool, pool=None):
    """For each of a few centred points ``p_j``: ``min(closest_n, ||x_n - p_j||^2)``, shape
    ``(J, N)`` (``None`` unless ``keep``), and its weighted sum over the points, shape
    ``(J,)``.

    The distances are one product per chunk, as in :func:`nearest_centres` (clipped at
    zero against rounding); chunks keep every pass in cache and each product below BLAS's
    threading threshold (threaded, this thin product ran 4x slower here). The sums are
    taken per chunk and added in chunk order, whichever worker ran the chunk."""
    J, N = points.shape[0], augmented.shape[0]
    transposed = _centre_coefficients(points).T
    nearest = np.empty((J, N)) if keep else None
    rows = chunk_rows(max(J, 8))  # at most 4096 rows: unthreaded products
    starts = list(range(0, N, rows))
    parts = np.empty((len(starts), J))

    def chunks(first: int, last: int):
        for start in range(first, last, rows):
            stop = min(start + rows, last)
            chunk = transposed @ augmented[start:stop].T
            chunk += squared_norms[start:stop]
            np.maximum(chunk, 0.0, out=chunk)
            np.minimum(chunk, closest[start:stop], out=chunk)
            parts[start // rows] = chunk @ weight[start:stop]
            if keep:
                nearest[:, start:stop] = chunk

    _run(pool, chunks, *_split(starts, N, pool))
    potentials = np.zeros(J)
    for part in parts:  # in chunk order
        potentials += part
    return nearest, potentials


def _draw_index(rng, probabilities_unnormalised: np.ndarray) -> int:
    # Inverse-CDF draw: with integer sample weights it picks the same point as a draw over
    # the data with each row repeated, which keeps weighted and repeated data equivalent.
    # One uniform number, as numpy's ``Generator.choice(N, p=...)`` draws it.
    cumulative = np.cumsum(probabilities_unnormalised)
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(index, len(cumulative) - 1)


def default_local_trials(n_clusters: int) -> int:
    """scikit-learn's number of candidates per greedy k-means++ step, ``2 + floor(ln K)``
    (the rule Arthur and Vassilvitskii mention trying).

    Parameters
    ----------
    n_clusters : int

    Returns
    -------
    int
    """
    return 2 + int(np.log(n_clusters))


def _plusplus(augmented: np.ndarray, squared_norms: np.ndarray, n_clusters: int, rng,
              weight: np.ndarray, n_local_trials: int, pool=None) -> np.ndarray:
    """Greedy k-means++ indices on centred data (``augmented = [x - c, 1]``).

    Each step draws ``n_local_trials`` candidates with probability proportional to weight
    times the squared distance to the nearest centre so far, and keeps the one that leaves
    the smallest potential ``sum_n w_n min_k ||x_n - mu_k||^2``; one candidate is plain
    k-means++. The random numbers are drawn as scikit-learn's ``_kmeans_plusplus`` draws
    them from a generator (one uniform for the first centre, ``n_local_trials`` per step)."""
    n_samples = augmented.shape[0]
    first = _draw_index(rng, weight)
    indices = [first]
    closest, _ = _nearest_with(augmented, squared_norms, augmented[[first], :-1],
                               np.full(n_samples, np.inf), weight, True, pool)
    closest = closest[0]
    closest[first] = 0.0  # exactly: the centre is never drawn again
    cumulative = np.empty(n_samples)  # one buffer for every step
    for _ in range(1, n_clusters):
        np.cumsum(np.multiply(weight, closest, out=cumulative), out=cumulative)
        if not cumulative[-1] > 0:  # every point coincides with a centre: any unused point
            unused = np.isin(np.arange(n_samples), indices, invert=True)
            score = weight * unused if np.any(weight * unused > 0) else weight.copy()
            candidates = np.array([_draw_index(rng, score)])
        else:
            draws = rng.uniform(size=n_local_trials) * cumulative[-1]
            candidates = np.minimum(np.searchsorted(cumulative, draws, side="right"),
                                    n_samples - 1)
        if candidates.size > 1:  # the potentials first: no (J, N) array is kept
            _, potentials = _nearest_with(augmented, squared_norms,
                                          augmented[candidates, :-1], closest, weight, False,
                                          pool)
            candidates = candidates[[int(np.argmin(potentials))]]
        index = int(candidates[0])
        indices.append(index)
        closest = _nearest_with(augmented, squared_norms, augmented[[index], :-1], closest,
                                weight, True, pool)[0][0]
        closest[index] = 0.0
    return np.asarray(indices)


def kmeans_plusplus(X, n_clusters: int, random_state=None, sample_weight=None,
                    n_local_trials: int | None = None):
    """Greedy k-means++ seeding (Arthur and Vassilvitskii, 2007; scikit-learn's rule): the
    first centre is a point drawn with probability proportional to its weight; at each next
    step ``n_local_trials`` points are drawn with probability proportional to weight times
    the squared distance to the nearest centre chosen so far, and the one that most reduces
    ``sum_n w_n min_k ||x_n - mu_k||^2`` becomes the next centre (one candidate is the plain
    k-means++ of the paper).

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_clusters : int
    random_state : None, int or numpy.random.Generator
    sample_weight : array_like, shape (N,), optional
    n_local_trials : int or None, default None
        Candidates per step: None is scikit-learn's ``2 + floor(ln K)``
        (:func:`default_local_trials`), the seeds of :func:`kmeans` and of the book's fits;
        1 is plain k-means++.

    Returns
    -------
    centers : ndarray, shape (n_clusters, D)
    indices : ndarray of int, shape (n_clusters,)
    """
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    trials = (default_local_trials(n_clusters) if n_local_trials is None
              else check_positive_int(n_local_trials, "n_local_trials"))
    X = as_data(X, min_samples=n_clusters)
    weight = as_sample_weight(sample_weight, X.shape[0])
    weight = np.ones(X.shape[0]) if weight is None else weight
    rng = check_random_state(random_state)
    augmented, squared_norms, _ = _centred_augmented(X, weight)
    with _assignment_threads(X.shape[0]) as pool:
        indices = _plusplus(augmented, squared_norms, n_clusters, rng, weight, trials, pool)
    return np.array(X[indices], dtype=np.float64), indices


def cluster_sums(centred: np.ndarray, labels: np.ndarray, weight: np.ndarray,
                 n_clusters: int):
    """Per-cluster weighted sums of the points and weights, by ``bincount`` (``O(N D)``,
    no ``(N, K)`` one-hot matrix): the update step of eq. :eq:`kmeans-objective` is
    ``sums / totals``.

    Parameters
    ----------
    centred : ndarray, shape (N, D)
    labels : ndarray of int, shape (N,)
    weight : ndarray, shape (N,)
    n_clusters : int

    Returns
    -------
    sums : ndarray, shape (n_clusters, D)
        ``sum_{n: labels_n = k} w_n x_n``.
    totals : ndarray, shape (n_clusters,)
        ``sum_{n: labels_n = k} w_n``.
    """
    totals = np.bincount(labels, weights=weight, minlength=n_clusters)
    sums = np.empty((n_clusters, centred.shape[1]))
    for d in range(centred.shape[1]):
        sums[:, d] = np.bincount(labels, weights=weight * centred[:, d], minlength=n_clusters)
    return sums, totals


def kmeans(X, n_clusters: int, random_state=None, max_iter: int = 300, sample_weight=None,
           tol: float = 1e-4, n_local_trials: int | None = None):
    """Lloyd's algorithm for k-means, started from greedy k-means++ seeds
    (:func:`kmeans_plusplus`).

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
    n_local_trials : int or None, default None
        Candidates per k-means++ step: None is scikit-learn's greedy rule
        (:func:`default_local_trials`), the start of :class:`gmm.GaussianMixture` and of
        every fit in the book's chapters; 1 is plain k-means++ (cheaper seeds, which
        usually leave a higher ``J``).

    Returns
    -------
    centers : ndarray, shape (n_clusters, D)
    labels : ndarray of int, shape (N,)
    inertia : float
        ``J`` at the returned centres and labels.
    """
    n_clusters = check_positive_int(n_clusters, "n_clusters")
    trials = (default_local_trials(n_clusters) if n_local_trials is None
              else check_positive_int(n_local_trials, "n_local_trials"))
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_non_negative_real(tol, "tol")
    X = as_data(X, min_samples=n_clusters)
    weight = as_sample_weight(sample_weight, X.shape[0])
    weight = np.ones(X.shape[0]) if weight is None else weight
    rng = check_random_state(random_state)
    augmented, squared_norms, shift = _centred_augmented(X, weight)
    centred = augmented[:, :-1]
    # The data are centred, so the mean of the squared norms is the total variance.
    threshold = tol * float(weight @ squared_norms) / (weight.sum() * X.shape[1])
    with _assignment_threads(X.shape[0]) as pool:
        seeds = _plusplus(augmented, squared_norms, n_clusters, rng, weight, trials, pool)
        centers, labels, inertia = _lloyd(augmented, squared_norms, centred[seeds].copy(),
                                          weight, threshold, max_iter, pool)
    return centers + shift, labels, inertia


def _lloyd(augmented, squared_norms, centers, weight, threshold, max_iter, pool):
    """Lloyd's iterations from ``centers`` (centred): ``(centers, labels, inertia)``."""
    centred = augmented[:, :-1]
    n_clusters = centers.shape[0]
    labels = None
    for _ in range(max_iter):
        new_labels, _ = nearest_centres(augmented, squared_norms, centers,
                                        with_distances=False, pool=pool)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sums, totals = cluster_sums(centred, labels, weight, n_clusters)
        new_centers = centers.copy()
        filled = totals > 0
        new_centers[filled] = sums[filled] / totals[filled, None]
        if not np.all(filled):
            _, distances = nearest_centres(augmented, squared_norms, centers, pool=pool)
            for k in np.flatnonzero(~filled):
                farthest = int(np.argmax(distances * weight))
                new_centers[k] = centred[farthest]
                labels[farthest] = k
                distances[farthest] = 0.0
        moved = float(np.sum((new_centers - centers) ** 2))
        centers = new_centers
        if moved <= threshold:
            break
    labels, distances = nearest_centres(augmented, squared_norms, centers, pool=pool)
    # numpy's pairwise sum, not the dot product: OpenBLAS splits a long ddot over its
    # threads (Zen, AVX2), so the inertia changed in the last bit with the pool's
    # one-thread BLAS limit.
    distances *= weight
    return centers, labels, float(distances.sum())


def initial_responsibilities(X, n_components: int, method: str = "kmeans", random_state=None,
                             sample_weight=None) -> np.ndarray:
    """Responsibilities to start EM from (the first M-step turns them into ``theta``).

    - ``kmeans``: one-hot labels of :func:`kmeans`;
    - ``k-means++``: one-hot assignment of every point to its nearest greedy k-means++
      seed (:func:`kmeans_plusplus`);
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
            indices = _plusplus(augmented, squared_norms, n_components, rng, unit,
                                default_local_trials(n_components))
        else:
            indices = rng.choice(n_samples, size=n_components, replace=False)
        labels, _ = nearest_centres(augmented, squared_norms, augmented[indices, :-1])
    resp = np.zeros((n_samples, n_components))
    resp[np.arange(n_samples), labels] = 1.0
    return resp
