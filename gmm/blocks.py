"""EM over data read in row blocks: larger than memory, or spread over a cluster (chapter 9).

The M-step needs the data only through the sufficient statistics of eq.
:eq:`sufficient-statistics`, and those are sums over points. So one EM iteration is a
map-reduce: every block of rows yields its log-likelihood share and its statistics
(:func:`block_em_statistics`, the engine's own chunked E-step), and the blocks' statistics
are added (``SufficientStatistics.__add__``, the shifted pairwise update of eq.
:eq:`merge-shifted`). The result is the in-memory fit's, not an approximation of it: the
same numbers, summed in another (fixed) order.

Every block's statistics are centred on the block's own mean, so that data far from the
origin lose no digits, and the merge re-centres one block's statistics on the other's shift
(Chan, Golub and LeVeque's update).

The data can be any array-like that gives its rows in slices: a ``numpy.memmap``, an HDF5
or zarr dataset, or a ``dask.array.Array`` (then every pass is a Dask computation, see
``gmm._dask``). Memory is one block and the engine's chunk buffers, whatever ``N`` is.

The functions named ``block_*`` are the map (pure, on one block in memory); the classes
:class:`LocalPasses` and ``gmm._dask.DaskPasses`` run them over every block and
reduce; :func:`em_blocks`, :func:`initial_mixture` and :func:`kmeans_blocks` are the
algorithms, written once for both.
"""

from __future__ import annotations

import mmap

import numpy as np

from ._engine import centred_moments, e_step_chunked, em_iteration
from .algorithm import em_loop
from .covariance import get_covariance_type
from .initialization import augmented_about, cluster_sums, kmeans_plusplus, nearest_centres
from .mixture import Mixture
from .mstep import (
    SufficientStatistics,
    _check_fixed,
    _sufficient_statistics,
    starting_mixture,
)

__all__ = [
    "is_row_blocked",
    "LocalPasses",
    "passes_for",
    "em_blocks",
    "kmeans_blocks",
    "initial_mixture",
    "block_em_statistics",
    "block_moments",
    "pairwise_sum",
    "iteration_graph",
    "task_counts",
]

#: Bytes of one block read from a memmap or an HDF5/zarr dataset (the engine then works on
#: cache-sized chunks of it).
BLOCK_BYTES = 1 << 23

#: Fewest rows per block (a smaller block is all per-call overhead).
_MIN_BLOCK_ROWS = 1024

#: Rows drawn for the k-means++ seeding at scale.
SEED_SAMPLE_ROWS = 20_000


def _is_dask_array(X) -> bool:
    return type(X).__module__.split(".")[:2] == ["dask", "array"]


def is_row_blocked(X) -> bool:
    """Whether ``X`` is fitted block by block instead of as one array in memory.

    True for a ``numpy.memmap``, a ``dask.array.Array``, and any other 2-D array-like that
    is not a numpy array but has ``shape``, ``dtype`` and row slicing (an ``h5py.Dataset``,
    a ``zarr.Array``)."""
    if isinstance(X, np.memmap) or _is_dask_array(X):
        return True
    if isinstance(X, np.ndarray) or hasattr(X, "tocsr"):  # sparse: as_data says why not
        return False
    shape = getattr(X, "shape", None)
    return (
        hasattr(X, "dtype") and hasattr(X, "__getitem__") and isinstance(shape, tuple)
        and len(shape) == 2
    )


# -- the map: pure functions on one block -----------------------------------------------


def checked_block(raw, start: int) -> np.ndarray:
    """Rows ``start ..`` of the data as a C-contiguous float64 array, checked finite."""
    block = np.ascontiguousarray(raw, dtype=np.float64)
    if not np.all(np.isfinite(block)):
        row, column = np.argwhere(~np.isfinite(block))[0]
        raise ValueError(
            f"X contains NaN or infinity (first at row {start + row}, column {column}). "
            "Remove or impute those values before fitting."
        )
    return block


def _block_shift(block: np.ndarray) -> np.ndarray:
    # Any point would do for exactness; the block's mean keeps the centred sums small.
    return block.mean(axis=0)


def block_moments(block, weight, start=0) -> SufficientStatistics:
    """The data's own statistics over one block: one "component" holding every point.

    ``counts = sum_n w_n``, the sums and the scatter centred on the block's mean (full
    ``(1, D, D)`` layout). Their sum over the blocks gives the weighted mean and the scatter
    of all the data (the shift and the tied second moments of the in-memory fit)."""
    block = checked_block(block, start)
    shift = _block_shift(block)
    total = float(block.shape[0] if weight is None else weight.sum())
    centred = block - shift
    sums = (centred.sum(axis=0) if weight is None else weight @ centred)[None]
    scatter = centred_moments(block, shift, weight)[None]
    return SufficientStatistics(
        np.array([total]), sums, scatter, shift, total, "full"
    )


def block_em_statistics(block, weight, start, theta: Mixture, with_statistics=True):
    """One block's share of an EM iteration: ``(ln p(block | theta), statistics)``.

    The engine's E-step and statistics (``gmm._engine.em_iteration``) on the block,
    centred on its mean; the statistics are ``None`` when not asked for."""
    block = checked_block(block, start)
    shift = _block_shift(block)
    total = float(block.shape[0] if weight is None else weight.sum())
    tied = None
    if with_statistics and theta.covariance_type == "tied":
        tied = centred_moments(block, shift, weight)
    log_likelihood, statistics = em_iteration(
        block, theta, shift, weight, total, tied, with_statistics=with_statistics
    )
    return log_likelihood, statistics


def block_nearest_centres(block, weight, start, centres, shift):
    """k-means on one block, every point assigned to its nearest centre (the in-memory
    :func:`gmm.initialization.nearest_centres` and :func:`gmm.initialization.cluster_sums`
    about ``shift``): ``(sum_n w_n ||x_n - c_k||^2, counts, sums about shift,
    sum_n w_n ||x_n - shift||^2)``, shapes ``()``, ``(K,)``, ``(K, D)``, ``()``."""
    block = checked_block(block, start)
    augmented, squared_norms = augmented_about(block, shift)
    w = np.ones(block.shape[0]) if weight is None else weight
    labels, distances = nearest_centres(augmented, squared_norms, centres - shift)
    sums, counts = cluster_sums(augmented[:, :-1], labels, w, centres.shape[0])
    return float(w @ distances), counts, sums, float(w @ squared_norms)


def block_hard_statistics(block, weight, start, centres, covariance_type):
    """Statistics of one block with every point given wholly to its nearest centre."""
    block = checked_block(block, start)
    shift = _block_shift(block)
    labels, _ = nearest_centres(*augmented_about(block, shift), centres - shift,
                                with_distances=False)  # the assignment step of k-means
    resp = np.zeros((block.shape[0], centres.shape[0]))
    resp[np.arange(block.shape[0]), labels] = 1.0
    return (_sufficient_statistics(block, resp, covariance_type, weight, shift),)


def block_random_statistics(block, weight, start, seed, n_components, covariance_type):
    """Statistics of one block under uniform random responsibilities; the generator is
    seeded by ``(seed, start)``, so every block draws its own numbers wherever it runs."""
    block = checked_block(block, start)
    rng = np.random.default_rng([seed, start])
    resp = rng.uniform(size=(block.shape[0], n_components))
    resp /= resp.sum(axis=1, keepdims=True)
    return (_sufficient_statistics(block, resp, covariance_type, weight, _block_shift(block)),)


def block_rows_at(block, weight, start, indices):
    """The rows of the block whose global indices are in ``indices`` (sorted), and their
    weights."""
    local = indices[(indices >= start) & (indices < start + block.shape[0])] - start
    rows = checked_block(block, start)[local]
    return rows, (np.ones(local.size) if weight is None else weight[local])


def block_labels(block, start, theta):
    """The most responsible component of every point of a block, shape ``(n,)``."""
    return e_step_chunked(checked_block(block, start), theta, labels=True,
                          log_likelihood=False)["labels"]


def block_log_marginal(block, start, theta):
    """``ln p(x_n)`` of every point of a block, shape ``(n,)``."""
    return e_step_chunked(checked_block(block, start), theta,
                          log_marginal=True)["log_marginal"]


def block_responsibilities(block, start, theta):
    """``gamma(z_nk)`` of a block, shape ``(n, K)``."""
    log_resp = e_step_chunked(checked_block(block, start), theta, log_resp=True)["log_resp"]
    return np.exp(log_resp)


# -- the reduce -------------------------------------------------------------------------


def add_results(first, second):
    """Add two blocks' results item by item (floats, arrays, SufficientStatistics)."""
    return tuple(None if a is None else a + b for a, b in zip(first, second, strict=True))


def pairwise_sum(items, add=add_results):
    """Reduce ``items`` (in their order) by a balanced binary tree of ``add``.

    A stack of partial sums, each covering a power of two of consecutive items, so the
    tree is fixed by the number of items and only ``O(log n)`` partial sums are held."""
    stack = []  # (number of items covered, partial sum)
    for item in items:
        size, total = 1, item
        while stack and stack[-1][0] == size:
            covered, previous = stack.pop()
            size, total = covered + size, add(previous, total)
        stack.append((size, total))
    if not stack:
        raise ValueError("Nothing to sum: the data has no rows.")
    total = stack.pop()[1]
    while stack:
        total = add(stack.pop()[1], total)
    return total


# -- running the passes in this process ---------------------------------------------------


def _release_pages(X, start: int, stop: int) -> None:
    """Tell the kernel that rows ``start:stop`` of a memmap will not be read again soon.

    Read pages of a file mapping count in the process's resident memory until the kernel
    reclaims them; dropping them block by block keeps a pass over the file at one block.
    Only for shared, C-contiguous mappings, whose pages the file still holds."""
    mapping = getattr(X, "_mmap", None)
    if (
        mapping is None or not hasattr(mapping, "madvise") or X.mode == "c"
        or not X.flags.c_contiguous or not hasattr(mmap, "MADV_DONTNEED")
    ):
        return
    base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
    first = X[start:stop].ctypes.data - base
    length = (stop - start) * X.strides[0]
    aligned = first - first % mmap.PAGESIZE
    try:
        mapping.madvise(mmap.MADV_DONTNEED, aligned, length + first - aligned)
    except (OSError, ValueError):  # advice only: a refusal changes nothing computed
        pass


class LocalPasses:
    """Passes over an array-like read in row blocks in this process.

    Parameters
    ----------
    X : array-like, shape (N, D)
        Sliceable along its rows (``X[start:stop]`` gives an array).
    weight : ndarray, shape (N,), or None
    block_rows : int, optional
        Rows per block; by default about ``BLOCK_BYTES`` of float64.
    """

    def __init__(self, X, weight=None, block_rows=None):
        if len(X.shape) != 2:
            raise ValueError(
                f"X must be 2-D, of shape (n_samples, n_features); got shape {X.shape}."
            )
        self.X = X
        self.n_rows, self.n_features = (int(n) for n in X.shape)
        self.weight = weight
        if block_rows is None:
            block_rows = max(_MIN_BLOCK_ROWS, BLOCK_BYTES // (8 * max(self.n_features, 1)))
        self.block_rows = int(block_rows)
        self.bounds = [
            (start, min(start + self.block_rows, self.n_rows))
            for start in range(0, self.n_rows, self.block_rows)
        ]

    def _blocks(self):
        for start, stop in self.bounds:
            weight = None if self.weight is None else self.weight[start:stop]
            yield np.asarray(self.X[start:stop]), weight, start
            if isinstance(self.X, np.memmap):
                _release_pages(self.X, start, stop)

    def map_reduce(self, function, *args):
        """``pairwise_sum`` over blocks of ``function(block, weight, start, *args)``."""
        return pairwise_sum(
            function(block, weight, start, *args) for block, weight, start in self._blocks()
        )

    def map_rows(self, function, *args):
        """``function(block, start, *args)`` for every block, concatenated along rows."""
        return np.concatenate(
            [function(block, start, *args) for block, _, start in self._blocks()]
        )

    def sample_rows(self, indices):
        """Rows ``indices`` (sorted) and their weights."""
        parts = [
            block_rows_at(block, weight, start, indices)
            for block, weight, start in self._blocks()
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def passes_for(X, weight=None, block_rows=None):
    """The passes for ``X``: over the blocks of a dask array as Dask computations, over
    row slices of anything else in this process."""
    if _is_dask_array(X):
        from ._dask import DaskPasses  # dask is optional: imported only for dask arrays

        return DaskPasses(X, weight)
    return LocalPasses(X, weight, block_rows)


# -- the algorithms, written once for both kinds of passes --------------------------------


def data_summary(passes):
    """``(shift, scale, n_samples)``: the weighted mean of the data, its largest variance
    and ``sum_n w_n``, in one pass (cached on ``passes``)."""
    if getattr(passes, "summary", None) is not None:
        return passes.summary
    moments = passes.map_reduce(_moments_result)[0]
    total = float(moments.n_samples)
    mean = moments.shift + moments.centred_sums[0] / total
    offset = mean - moments.shift
    scatter = np.diagonal(moments.centred_second_moments[0]) - total * offset**2
    passes.summary = (mean, float(np.max(scatter) / total), total)
    return passes.summary


def _moments_result(block, weight, start):
    return (block_moments(block, weight, start),)


def em_blocks(passes, theta0: Mixture, *, tol=1e-3, max_iter=100, reg_covar=1e-6, fixed=(),
              keep_history=False, stopping="change", verbose=0, verbose_interval=10,
              previous_lower_bound=-np.inf):
    """EM from ``theta0`` with every E-step a pass over the blocks: the loop of
    :func:`gmm.em` (:func:`gmm.algorithm.em_loop`), the statistics summed over blocks.

    Parameters
    ----------
    passes : LocalPasses or gmm._dask.DaskPasses
        From :func:`passes_for`.
    theta0 : Mixture
    tol, max_iter, reg_covar, fixed, keep_history, stopping, verbose, verbose_interval,
    previous_lower_bound
        As in :func:`gmm.em` (without a prior: MAP-EM runs in memory).

    Returns
    -------
    EMResult
        As :func:`gmm.em`, with ``log_resp`` and ``labels`` None (they would be ``N x K``
        and ``N``).
    """
    fixed = _check_fixed(fixed, theta0, theta0.covariance_type)

    def e_pass(theta):
        return passes.map_reduce(block_em_statistics, theta)

    result = em_loop(e_pass, theta0, tol=tol, max_iter=max_iter,
                     reg_covar=reg_covar, stopping=stopping, fixed=fixed,
                     keep_history=keep_history, verbose=verbose,
                     verbose_interval=verbose_interval,
                     previous_lower_bound=previous_lower_bound)
    result.log_likelihoods.append(
        float(passes.map_reduce(block_em_statistics, result.mixture, False)[0]))
    return result


def _sample_indices(n_rows, size, rng):
    if size >= n_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def kmeans_blocks(passes, centres, *, max_iter=20, tol=1e-4):
    """Lloyd's algorithm with every iteration a pass over the blocks.

    Each pass assigns every point to its nearest centre and sums, per centre, the weights
    and the points (about the data's mean); the new centres are the weighted means
    (eq. :eq:`kmeans-objective`). A centre left without points keeps its place. Stops by
    the rule of :func:`gmm.kmeans` (scikit-learn's): when the squared distances the centres
    move, summed over the centres, fall to ``tol`` times the mean variance of the features
    (at a fixed point they move by exactly zero); or after ``max_iter`` passes.

    Returns
    -------
    centres : ndarray, shape (K, D)
    inertia : float
        ``J`` at the centres the last pass started from.
    """
    shift, _, total = data_summary(passes)
    centres = np.array(centres, dtype=np.float64)
    inertia, threshold = np.inf, None
    for _ in range(max_iter):
        inertia, counts, sums, spread = passes.map_reduce(
            block_nearest_centres, centres, shift
        )
        if threshold is None:  # ``spread / total`` is the total variance about the mean
            threshold = tol * spread / (total * centres.shape[1])
        filled = counts > 0
        new = centres.copy()
        new[filled] = shift + sums[filled] / counts[filled, None]
        moved = float(np.sum((new - centres) ** 2))
        centres = new
        if moved <= threshold:
            break
    return centres, float(inertia)


def initial_mixture(passes, n_components, covariance_type, init_params, rng, reg_covar,
                    given=(None, None, None)):
    """The starting ``theta`` at scale, as :class:`gmm.GaussianMixture` does in
    memory: responsibilities from the initialisation, then one M-step on their statistics.

    ``kmeans``: greedy k-means++ (:func:`gmm.kmeans_plusplus`) on a sample of
    ``SEED_SAMPLE_ROWS`` rows (weighted by the sample weights), Lloyd's iterations on the
    sample, then on all the data (:func:`kmeans_blocks`); ``k-means++``: the seeds drawn on
    the sample; ``random_from_data``: ``K`` rows of the sample; each with every point given to
    its nearest centre.
    ``random``: uniform random responsibilities. ``given`` holds the user's weights, means
    and covariances (each None or an array), which override the estimated ones."""
    kind = get_covariance_type(covariance_type)
    weights, means_, covariances = given
    if weights is not None and means_ is not None and covariances is not None:
        return Mixture(weights, means_, covariances, kind.name)
    if passes.n_rows < n_components:
        raise ValueError(
            f"X has {passes.n_rows} samples, but at least {n_components} are needed "
            f"(n_components={n_components}). Use fewer components or more data."
        )
    if init_params == "random":
        seed = int(rng.integers(np.iinfo(np.int64).max))
        statistics = passes.map_reduce(
            block_random_statistics, seed, n_components, kind.name
        )[0]
    else:
        sample, sample_weight = passes.sample_rows(
            _sample_indices(passes.n_rows, SEED_SAMPLE_ROWS, rng)
        )
        if init_params == "random_from_data":
            centres = sample[rng.choice(sample.shape[0], size=n_components, replace=False)]
        else:
            centres, _ = kmeans_plusplus(sample, n_components, rng, sample_weight)
        if init_params == "kmeans":
            centres, _ = kmeans_blocks(LocalPasses(sample, sample_weight), centres,
                                       max_iter=100, tol=1e-10)
            centres, _ = kmeans_blocks(passes, centres)
        statistics = passes.map_reduce(block_hard_statistics, centres, kind.name)[0]
    return starting_mixture(statistics, reg_covar, given)


# -- looking at the Dask graph (chapter 9) -------------------------------------------------


def iteration_graph(X, theta: Mixture, sample_weight=None):
    """The Dask graph of one EM pass over the dask array ``X`` under ``theta``: its delayed
    root, which computes ``(ln p(X | theta), statistics)`` (nothing is computed here)."""
    from ._dask import DaskPasses  # dask is optional

    return DaskPasses(X, sample_weight).graph(block_em_statistics, theta)


def task_counts(collection) -> dict:
    """``{kind of task: number}`` in the graph of a Dask collection, the kinds named by
    Dask's key prefixes (the function or array name), sorted by name."""
    from dask.utils import key_split

    counts = {}
    for key in dict(collection.__dask_graph__()):
        kind = key_split(key)
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))
