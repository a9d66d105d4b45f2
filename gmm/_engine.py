"""The fast engine behind :func:`gmm.em` and the estimator: the E-step and the sufficient
statistics as a few large matrix products, one chunk of rows at a time.

The teaching functions (:func:`gmm.log_responsibilities`, :func:`gmm.m_step`, ...) follow
the equations component by component. This module computes the same quantities, arranged
for the processor, and ``tests/test_engine.py`` keeps the two equal:

- The data are centred on a shift ``c`` (the weighted mean of the data), so that the
  expansions below do not cancel catastrophically for data far from the origin.
- Every log joint density ``ln pi_k + ln N(x | mu_k, Sigma_k)`` is a quadratic function of
  ``x``: with ``Lambda_k = Sigma_k^{-1}`` and ``m_k = mu_k - c``,
  ``-1/2 x^T Lambda_k x + x^T Lambda_k m_k + (ln pi_k - D/2 ln 2 pi + 1/2 ln|Lambda_k|
  - 1/2 m_k^T Lambda_k m_k)``.
  So with the features ``phi(x) = [1, x, x_i x_j (i <= j)]`` (``[1, x, x_d^2]`` for diagonal
  covariances; ``[1, x]`` plus one shared term for tied ones: the covariance type says which,
  :attr:`gmm.covariance.CovarianceType.engine_features`) the ``(K, n)`` log joint densities
  of a chunk are ONE product ``W^T Phi^T`` (the "quadratic" formulation).
- The same features give every sufficient statistic of eq. :eq:`sufficient-statistics` in
  ONE product ``Gamma^T Phi``: the column of ones gives ``N_k``, the ``x`` columns give
  ``sum gamma x``, the products give ``sum gamma x x^T``.
- For many features (``D(D+1)/2`` large) the quadratic features cost more than they save;
  there the E-step is one product ``[1, x] @ [P_1 | ... | P_K]`` of the data with every
  precision Cholesky factor at once (the Mahalanobis terms are then sums of squares) and
  the second moments of all components are one product per chunk (the "factors"
  formulation).
- The work on one chunk is a pure function of the chunk, ``theta`` and ``c``
  (:func:`chunk_pass`, after :func:`plan_e_step`): out-of-core and distributed passes call
  it on their own blocks and add the results (statistics about the same ``c`` add).
  Memory is a fixed chunk plus what the caller asks to keep (labels: ``N``; responsibilities:
  ``N K``).
- The quadratic features are built transposed, ``Phi^T`` of shape ``(width, n)``: each
  feature is then one contiguous row, and every product ``x_i x_j`` one vectorised
  multiplication over the chunk (the row-major ``(n, width)`` layout writes strided columns).
- For tied covariances the shared term ``-1/2 (x - c)^T Lambda (x - c)`` is the same for
  every component: it cancels in the responsibilities, and its share of ``ln p(X)`` is
  ``-1/2 tr(Lambda S)`` with the scatter ``S = sum_n w_n (x_n - c)(x_n - c)^T``, which the
  fit computes once. So the chunks skip it unless ``ln p(x_n)`` itself is asked for.
- A pass over the data runs its chunks on worker threads (:func:`engine_threads` of them:
  by default every CPU for the factor products, one for the quadratic features, where
  threads were slower), each chunk a call of :func:`chunk_pass` with its own temporaries,
  BLAS held at one thread meanwhile (one core per chunk: the chunks' thin products gain
  nothing from BLAS threads, and two layers of threads would fight). The chunks are fixed
  by the data and the plan alone, and their results are added in chunk order, so the
  numbers do not depend on the number of threads: one thread and two give bit-identical
  fits. The chunks' products are ``np.dot`` rather than ``@``: numpy's ``matmul`` of a
  ``(K, n)`` by an ``(n, P)`` matrix kept the interpreter lock here (two threads running
  them were no faster than one, 0.8-1.0 times; ``np.dot`` of the same 1.5-1.75 times).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _kernels
from .likelihood import LOG_2PI
from .mixture import Mixture
from .mstep import SufficientStatistics

__all__ = [
    "EStepPlan",
    "ChunkResult",
    "plan_e_step",
    "chunk_pass",
    "chunk_rows",
    "em_iteration",
    "e_step_chunked",
    "centred_moments",
    "data_shift",
    "engine_threads",
]

#: Target size in bytes of one chunk's largest temporary (small enough for a core's cache).
_CHUNK_BYTES = 1 << 18

#: The same for the quadratic features of the E-step: half of a 1 MiB L2 cache. Measured on
#: one thread (AMD EPYC, 1 MiB L2 per core; CPU time per pass, median of 7): 200k x 8 x 10
#: full 26-28 ms at 256 KiB, 21-23 at 512; diag 12.2-12.5 against 10.9; 1M x 2 x 5 full
#: 20.8 against 18.2-18.5; 2 MiB was no faster than 512 KiB.
_QUADRATIC_CHUNK_BYTES = 1 << 19

#: Above this many features, "pairs" types (full covariances) use the factor products
#: instead of the quadratic features.
_QUADRATIC_FEATURES_MAX_D = 16

FORMULATIONS = ("quadratic", "factors")

#: From this many features on, the factor formulation's second moments are one symmetric
#: product per component (see :func:`_factor_moments`).
_SYMMETRIC_PRODUCT_MIN_D = 48

#: The largest ``(mu_k - c)^T Lambda_k (mu_k - c)`` for which the "accurate" formulation
#: uses the quadratic features (see :func:`plan_e_step`).
_QUADRATIC_OFFSET_MAX = 1e4

#: See :data:`gmm._kernels.EXP_FLOOR` and :func:`_shifted_exp_in_place`.
_EXP_FLOOR = _kernels.EXP_FLOOR


# -- threads -------------------------------------------------------------------------------

#: The environment variable that overrides the number of worker threads of a pass.
THREADS_VARIABLE = "GMM_NUM_THREADS"


def engine_threads(formulation: str = "factors", compiled: bool = False) -> int:
    """The number of worker threads a pass over in-memory data uses.

    The environment variable ``GMM_NUM_THREADS`` when set (read at every pass, so it can
    be changed at run time), for every pass. Else, for the factor formulation, the CPUs
    this process may run on (``os.sched_getaffinity``; ``os.cpu_count()`` where that does
    not exist), and one thread for the quadratic one: its chunks are many short numpy
    calls that take turns at the interpreter lock, and two threads ran them at 0.67-0.85
    times the speed of one (D <= 8), while the factor products are long BLAS calls (1.6-1.7
    times faster on two threads at D = 32 and 64; measured on the 2-core machine of the
    benchmark). The results do not depend on it (see the module docstring).

    Parameters
    ----------
    formulation : {"factors", "quadratic"}, default "factors"
        The plan's formulation.
    compiled : bool, default False
        Whether the chunks run the compiled kernels (:mod:`gmm._kernels`): they release
        the interpreter lock, so every CPU is used for either formulation.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ValueError
        If ``GMM_NUM_THREADS`` is not a positive integer.
    """
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if value:
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(f"{THREADS_VARIABLE} must be a positive integer; got {value!r}. "
                             f"Unset it to use every available CPU.")
        return count
    if formulation == "quadratic" and not compiled:
        return 1
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_key = None


def _worker_pool(size: int) -> ThreadPoolExecutor:
    """One pool for the process, rebuilt when the number of threads changes or in a forked
    child (which inherits the pool but not its threads)."""
    global _pool, _pool_key
    key = (size, os.getpid())
    with _pool_lock:
        if _pool is None or _pool_key != key:
            if _pool is not None and _pool_key[1] == key[1]:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="gmm-engine")
            _pool_key = key
        return _pool


@functools.cache
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries (found once: finding them walks
    the process's shared libraries)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _ordered_map(function, items, size):
    """``map(function, items)`` with the calls spread over ``size`` worker threads; the
    results come back in the order of ``items``, and at most two calls per thread are in
    flight (so finished results waiting to be added stay few)."""
    # A pass called from another thread (a Dask task, a user's thread pool) stays on that
    # thread: it is already one of many, and BLAS's thread count is global to the process.
    if size == 1 or threading.current_thread() is not threading.main_thread():
        yield from map(function, items)
        return
    pool = _worker_pool(size)
    items = iter(items)
    pending = collections.deque(pool.submit(function, item)
                                for item in itertools.islice(items, 2 * size))
    while pending:
        result = pending.popleft().result()
        pending.extend(pool.submit(function, item) for item in itertools.islice(items, 1))
        yield result


class _OneBlasThread:
    """BLAS at one thread for the duration of a pass (from the main thread only)."""

    def __enter__(self):
        self._limit = None
        if threading.current_thread() is threading.main_thread():
            self._limit = _blas_controller().limit(limits=1, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self._limit is not None:
            self._limit.restore_original_limits()
        return False


def chunk_rows(width: int, budget: int = _CHUNK_BYTES) -> int:
    """Rows per chunk so that a ``(rows, width)`` float64 temporary is about ``budget``
    bytes."""
    return int(np.clip(budget // (8 * max(width, 1)), 32, 1 << 16))


def data_shift(X: np.ndarray, weight=None) -> np.ndarray:
    """The (weighted) mean of the data in float64, shape ``(D,)``: the centre ``c``.

    Any centre near the data serves (the engine's results do not depend on it beyond
    rounding); for few float64 columns a BLAS product with ones, 5-15 times faster than
    numpy's column reduction over the long axis (measured: 1M x 2, 15 against 1 ms)."""
    if weight is None and X.dtype == np.float64 and X.ndim == 2 and X.shape[1] <= 8:
        rows = 1 << 16  # the ones in 512 KiB, not N of them
        ones, total = np.ones(min(rows, X.shape[0])), np.zeros(X.shape[1])
        for start in range(0, X.shape[0], rows):
            chunk = X[start : start + rows]
            total += ones[: chunk.shape[0]] @ chunk
        return total / X.shape[0]
    if weight is None:
        return X.mean(axis=0, dtype=np.float64)
    return (weight @ X).astype(np.float64) / weight.sum()


def centred_moments(X: np.ndarray, shift: np.ndarray, weight=None, full: bool = True):
    """``sum_n w_n (x_n - c)(x_n - c)^T`` (``full``) or its diagonal, chunk by chunk."""
    D = X.shape[1]
    total = np.zeros((D, D) if full else D)
    rows = chunk_rows(D)
    for start in range(0, X.shape[0], rows):
        chunk = X[start : start + rows] - shift
        weighted = chunk if weight is None else chunk * weight[start : start + rows, None]
        total += weighted.T @ chunk if full else np.einsum("nd,nd->d", weighted, chunk)
    return total


# -- the plan: everything the E-step needs from theta, computed once per iteration ---------


@dataclasses.dataclass(frozen=True)
class EStepPlan:
    """The coefficients of one E-step, from ``theta`` and the shift ``c``.

    Attributes
    ----------
    formulation : {"quadratic", "factors"}
    shift : ndarray, shape (D,)
    n_components, n_features : int
    kind : CovarianceType
    coefficients : ndarray, shape (K, width)
        "quadratic": ``W^T`` with ``phi(x - c) W = ln pi_k + ln N(x | mu_k, Sigma_k)``
        (tied: without the shared term).
    shared_factor : ndarray, shape (D, D), or None
        "quadratic", tied: ``P`` of the shared term ``-1/2 ||(x - c)^T P||^2``.
    first, second : ndarray
        "factors": the stacked factors for coordinates ``0..h-1`` and ``h..D-1``; for
        diagonal factors, the offsets ``mu_k - c`` and the diagonals, both ``(K, D)``.
    constant : ndarray, shape (K,)
        "factors": ``ln pi_k - D/2 ln 2 pi + sum ln diag P_k``.
    kernels : namespace or None
        The compiled kernels of :mod:`gmm._kernels` for the chunks, or None (numpy).
    """

    formulation: str
    shift: np.ndarray
    n_components: int
    n_features: int
    kind: object
    coefficients: np.ndarray | None = None
    shared_factor: np.ndarray | None = None
    first: np.ndarray | None = None
    second: np.ndarray | None = None
    constant: np.ndarray | None = None
    kernels: object = None

    @property
    def rows(self) -> int:
        """Rows per chunk for this plan: its largest temporary, ``(rows, width)`` features
        or ``(K, rows)`` densities, about ``_QUADRATIC_CHUNK_BYTES`` (factors: see below)."""
        K, D = self.n_components, self.n_features
        if self.formulation == "factors" and self.kind.engine_features == "squares":
            return chunk_rows(max(D, K))
        if self.formulation == "factors":
            # Larger chunks than elsewhere: the products are BLAS-bound, and few large calls
            # beat many small ones; the (K D, rows) temporaries are about 2 MiB.
            return chunk_rows(K * D, 8 * _CHUNK_BYTES)
        return chunk_rows(max(self.coefficients.shape[1], K), _QUADRATIC_CHUNK_BYTES)


def _feature_width(n_features: int, features: str) -> int:
    if features == "pairs":
        return 1 + n_features + n_features * (n_features + 1) // 2
    if features == "none":
        return 1 + n_features
    return 1 + 2 * n_features


def _features_transposed(X_chunk: np.ndarray, shift: np.ndarray, features: str,
                         kernels=None):
    """``Phi^T``, shape ``(width, n)``: the features of the centred rows as rows, so that
    building each is one contiguous, vectorised operation; rows ``1 .. D`` are the centred
    data ``(x_n - c)^T`` themselves. With ``kernels``, in one compiled call."""
    n, D = X_chunk.shape
    phi = np.empty((_feature_width(D, features), n))
    if kernels is not None:
        kernels.features_transposed(X_chunk, shift, _kernels.FEATURE_CODES[features], phi)
        return phi
    phi[0] = 1.0
    centred = phi[1 : 1 + D]
    np.subtract(X_chunk.T, shift[:, None], out=centred)
    if features == "pairs":
        position = 1 + D
        for i in range(D):
            np.multiply(centred[i], centred[i:], out=phi[position : position + D - i])
            position += D - i
    elif features == "squares":
        np.multiply(centred, centred, out=phi[1 + D :])
    return phi


def _log_constants(theta: Mixture) -> np.ndarray:
    """``ln pi_k - D/2 ln 2 pi - 1/2 ln |Sigma_k|``, shape ``(K,)``."""
    factor = np.asarray(theta.precisions_cholesky)
    with np.errstate(divide="ignore"):  # ln 0 = -inf for a component of weight zero
        log_weights = np.log(theta.weights)
    return log_weights - 0.5 * theta.n_features * LOG_2PI + (
        theta.kind.log_det_precisions_cholesky(factor, theta.n_features)
    )


def _quadratic_plan(theta: Mixture, shift: np.ndarray) -> EStepPlan:
    kind = theta.kind
    D, K = theta.n_features, theta.n_components
    factor = np.asarray(theta.precisions_cholesky)
    features = kind.engine_features
    constant = _log_constants(theta)
    offsets = theta.means - shift
    precisions = kind.engine_precisions(factor, K, D)
    W = np.empty((K, _feature_width(D, features)))
    if features == "squares":  # precisions are (K, D) diagonals
        W[:, 0] = constant - 0.5 * np.einsum("kd,kd->k", offsets**2, precisions)
        W[:, 1 : 1 + D] = precisions * offsets
        W[:, 1 + D :] = -0.5 * precisions
    else:
        linear = np.einsum("kde,ke->kd", precisions, offsets)
        W[:, 0] = constant - 0.5 * np.einsum("kd,kd->k", offsets, linear)
        W[:, 1 : 1 + D] = linear
        if features == "pairs":
            rows, cols = np.triu_indices(D)
            quadratic = -precisions[:, rows, cols]
            quadratic[:, rows == cols] *= 0.5
            W[:, 1 + D :] = quadratic
    return EStepPlan("quadratic", shift, K, D, kind, coefficients=W,
                     shared_factor=kind.shared_quadratic_factor(factor, D))


def _factors_plan(theta: Mixture, shift: np.ndarray) -> EStepPlan:
    """Two structures the dense products would ignore are used, each saving a quarter of the
    flops. The factor ``P_k`` is upper triangular, so coordinate ``d`` of ``P_k^T (x - m_k)``
    needs only ``x_0 .. x_d``: the first half of the coordinates is a product with the first
    half of the features. And ``S_k`` is symmetric (see :func:`_factor_moments`). Diagonal
    factors (``"squares"`` types) are applied element by element instead."""
    kind = theta.kind
    D, K = theta.n_features, theta.n_components
    offsets = theta.means - shift
    constant = _log_constants(theta)
    if kind.engine_features == "squares":
        diagonal = np.sqrt(kind.engine_precisions(np.asarray(theta.precisions_cholesky), K, D))
        return EStepPlan("factors", shift, K, D, kind, first=offsets, second=diagonal,
                         constant=constant)
    h = D // 2
    factor = kind.full_precision_factors(np.asarray(theta.precisions_cholesky), K, D)
    # [1, x] @ [[-m_k^T P_k], [P_k]] = (x - m_k)^T P_k for every k at once; row j of the
    # stacked matrix multiplies feature j (feature 0 is the constant 1).
    stacked = np.empty((D + 1, K, D))
    stacked[0] = -np.einsum("kd,kde->ke", offsets, factor)
    stacked[1:] = factor.transpose(1, 0, 2)
    first = np.ascontiguousarray(stacked[: h + 1, :, :h].reshape(h + 1, K * h).T)
    second = np.ascontiguousarray(stacked[:, :, h:].reshape(D + 1, K * (D - h)).T)
    return EStepPlan("factors", shift, K, D, kind, first=first, second=second,
                     constant=constant)


def _largest_offset(theta: Mixture, shift: np.ndarray) -> float:
    """``max_k (mu_k - c)^T Lambda_k (mu_k - c)``: the squared Mahalanobis distance of the
    farthest component mean from the centre, in that component's metric."""
    kind = theta.kind
    K, D = theta.n_components, theta.n_features
    offsets = theta.means - shift
    precisions = kind.engine_precisions(np.asarray(theta.precisions_cholesky), K, D)
    if kind.engine_features == "squares":
        return float(np.max(np.einsum("kd,kd->k", offsets**2, precisions)))
    return float(np.max(np.einsum("kd,kde,ke->k", offsets, precisions, offsets)))


def plan_e_step(theta: Mixture, shift, formulation: str | None = None,
                n_rows: float = math.inf) -> EStepPlan:
    """Everything the E-step needs from ``theta``, for data centred on ``shift``.

    Parameters
    ----------
    theta : Mixture
    shift : array_like, shape (D,)
    formulation : {"quadratic", "factors", "accurate"}, optional
        Chosen by the number of features when not given (both give the same numbers up to
        rounding). ``"accurate"``: the quadratic features where their rounding is
        negligible, else the factors. The quadratic expansion of the points near component
        ``k`` cancels terms of size ``(mu_k - c)^T Lambda_k (mu_k - c)`` (a narrow
        component far from the data's mean), so it loses about ``eps`` times that: below
        ``_QUADRATIC_OFFSET_MAX = 1e4``, about ``1e-12`` in ``ln p``.
    n_rows : float, default inf
        The rows of the pass: with ``K`` they choose the compiled kernels or numpy
        (:func:`gmm._kernels.compiled`).

    Returns
    -------
    EStepPlan
    """
    shift = np.asarray(shift, dtype=np.float64)
    pairs = theta.kind.engine_features == "pairs"
    if formulation is None or formulation == "accurate":
        many = theta.n_features > _QUADRATIC_FEATURES_MAX_D and pairs
        far = formulation == "accurate" and (
            _largest_offset(theta, shift) > _QUADRATIC_OFFSET_MAX)
        formulation = "factors" if many or far else "quadratic"
    if formulation == "quadratic":
        plan = _quadratic_plan(theta, shift)
    elif formulation == "factors":
        plan = _factors_plan(theta, shift)
    else:
        raise ValueError(f"formulation must be one of {(*FORMULATIONS, 'accurate')}; got "
                         f"{formulation!r}.")
    return dataclasses.replace(plan, kernels=_kernels.compiled(n_rows * theta.n_components))


# -- one chunk ---------------------------------------------------------------------------


@dataclasses.dataclass
class ChunkResult:
    """What :func:`chunk_pass` returns for one chunk of ``n`` rows.

    Attributes
    ----------
    log_likelihood : float
        The chunk's share of ``ln p(X | theta)``: ``sum_n w_n ln p(x_n)``.
    counts : ndarray, shape (K,), or None
        ``sum_n w_n gamma_nk``.
    sums : ndarray, shape (K, D), or None
        ``sum_n w_n gamma_nk (x_n - c)``.
    moments : ndarray or None
        ``sum_n w_n gamma_nk (x_n - c)(x_n - c)^T`` in the covariance type's layout (tied:
        ``sum_n w_n (x_n - c)(x_n - c)^T``).
    log_resp : ndarray, shape (n, K), or None
    labels : ndarray of int, shape (n,), or None
    log_marginal : ndarray, shape (n,), or None
        ``ln p(x_n)``.
    """

    log_likelihood: float
    counts: np.ndarray | None = None
    sums: np.ndarray | None = None
    moments: np.ndarray | None = None
    log_resp: np.ndarray | None = None
    labels: np.ndarray | None = None
    log_marginal: np.ndarray | None = None


def _shifted_exp_in_place(log_joint: np.ndarray, largest: np.ndarray) -> np.ndarray:
    """Log-sum-exp over the components (eq. :eq:`log-sum-exp`) of ``(K, n)`` log joint
    densities ``l_nk`` with ``m_n = max_k l_nk`` (``largest``), in place: ``log_joint``
    becomes ``exp(l_nk - m_n)``; returns ``s_n = sum_k exp(l_nk - m_n)``, shape ``(n,)``
    (so ``ln p(x_n) = m_n + ln s_n`` and ``gamma_nk = exp(l_nk - m_n) / s_n``).

    Components run along the first axis so that the reductions over them are element-wise
    operations on contiguous rows. Terms ``exp(l_nk - m_n)`` below ``exp(_EXP_FLOOR)``
    (~4e-307 of the largest term, 1, so that no sum ``s_n`` changes) are set to 0, as
    ``exp`` itself does below ``e^-745``: an ``exp`` whose result is subnormal or zero
    leaves numpy's vectorised path and costs 20-50 times more (most terms, for
    well-separated components or many features), and subnormal responsibilities slow the
    products of the statistics too."""
    np.subtract(log_joint, largest, out=log_joint)
    if log_joint.min() < _EXP_FLOOR:  # one cheap reduction saves two passes otherwise
        below = log_joint < _EXP_FLOOR
        np.maximum(log_joint, _EXP_FLOOR, out=log_joint)
        np.exp(log_joint, out=log_joint)
        log_joint[below] = 0.0
    else:
        np.exp(log_joint, out=log_joint)
    return log_joint.sum(axis=0)


def _most_responsible(log_joint: np.ndarray, largest: np.ndarray) -> np.ndarray:
    """The first ``k`` with ``l_nk = max_j l_nj``, shape ``(n,)`` (``argmax`` over the
    components); for few components one comparison per component on contiguous rows,
    2-3 times faster than ``argmax`` along the strided first axis (slower beyond ~16)."""
    if log_joint.shape[0] > 16:
        return log_joint.argmax(axis=0)
    labels = np.zeros(log_joint.shape[1], dtype=np.intp)
    for k in range(log_joint.shape[0] - 1, 0, -1):  # downwards: the first maximum wins
        labels[log_joint[k] == largest] = k
    return labels


def _factor_log_joint(plan: EStepPlan, centred: np.ndarray) -> np.ndarray:
    n, D = centred.shape
    K, h = plan.n_components, D // 2
    if plan.kind.engine_features == "squares":
        log_joint = np.empty((K, n))
        for k in range(K):
            y = (centred - plan.first[k]) * plan.second[k]
            log_joint[k] = np.einsum("nd,nd->n", y, y)
        log_joint *= -0.5
        log_joint += plan.constant[:, None]
        return log_joint
    augmented = np.empty((n, D + 1))
    augmented[:, 0] = 1.0
    augmented[:, 1:] = centred
    y1 = np.dot(plan.first, augmented[:, : h + 1].T)
    y2 = np.dot(plan.second, augmented.T)
    np.multiply(y1, y1, out=y1)
    np.multiply(y2, y2, out=y2)
    log_joint = y1.reshape(K, h, n).sum(axis=1)  # squared Mahalanobis distances, (K, n)
    log_joint += y2.reshape(K, D - h, n).sum(axis=1)
    log_joint *= -0.5
    log_joint += plan.constant[:, None]
    return log_joint


def _factor_moments(resp: np.ndarray, centred: np.ndarray) -> np.ndarray:
    """``sum_n gamma_nk (x_n - c)(x_n - c)^T`` for every ``k``, shape ``(K, D, D)``.

    Up to ``_SYMMETRIC_PRODUCT_MIN_D`` features: rows ``(k, d)`` of the left factor are
    ``gamma_k * x_d`` over the chunk; the upper rows give the upper blocks, the lower rows
    only the lower-right block (the lower-left one is the transpose of the upper-right).
    From there on, one symmetric product ``Y_k Y_k^T`` per component with
    ``Y_k = (x_n - c)^T sqrt(gamma_nk)``, shape ``(D, n)``, which BLAS computes as a
    symmetric rank-n update (half the flops of a general product; 1.7x faster at D = 64,
    no faster at D = 32, measured)."""
    K, n = resp.shape
    D = centred.shape[1]
    h = D // 2
    moments = np.empty((K, D, D))
    chunk_t = np.ascontiguousarray(centred.T)
    if D >= _SYMMETRIC_PRODUCT_MIN_D:
        root = np.sqrt(resp)
        scaled = np.empty((D, n))
        for k in range(K):
            np.multiply(chunk_t, root[k], out=scaled)
            np.matmul(scaled, scaled.T, out=moments[k])  # scaled.T of scaled: syrk
        return moments
    left1 = resp[:, None, :] * chunk_t[None, :h]
    left2 = resp[:, None, :] * chunk_t[None, h:]
    moments[:, :h, :] = np.dot(left1.reshape(K * h, n), centred).reshape(K, h, D)
    moments[:, h:, h:] = np.dot(left2.reshape(K * (D - h), n), centred[:, h:]).reshape(
        K, D - h, D - h
    )
    moments[:, h:, :h] = moments[:, :h, h:].transpose(0, 2, 1)
    return moments


def _moments_from_features(T: np.ndarray, D: int, features: str) -> np.ndarray:
    """Second moments from the ``(K, width)`` feature statistics ``Gamma^T Phi``."""
    if features == "pairs":
        rows, cols = _upper_triangle(D)
        moments = np.empty((T.shape[0], D, D))
        moments[:, rows, cols] = T[:, 1 + D :]
        moments[:, cols, rows] = T[:, 1 + D :]
        return moments
    return T[:, 1 + D :].copy()


@functools.cache
def _upper_triangle(D: int):
    """``np.triu_indices(D)``, in the order of the pair features (made once per ``D``)."""
    return np.triu_indices(D)


_NO_WEIGHTS = np.empty(0)
_NO_LABELS = np.empty(0, dtype=np.intp)


def chunk_pass(plan: EStepPlan, X_chunk: np.ndarray, weight_chunk=None, *,
               statistics: bool = True, moments: bool = True, log_resp: bool = False,
               labels: bool = False, log_marginal: bool = False,
               shared_term: bool = True, likelihood: bool = True) -> ChunkResult:
    """The E-step of one chunk of rows and its share of the M-step's statistics.

    A pure function of the chunk, the plan (``theta`` and the shift ``c``) and the chunk's
    weights: results of disjoint chunks add (``log_likelihood``, ``counts``, ``sums``,
    ``moments``) or concatenate (``log_resp``, ``labels``, ``log_marginal``).

    Parameters
    ----------
    plan : EStepPlan
        From :func:`plan_e_step`.
    X_chunk : ndarray, shape (n, D)
        Rows of the data (float32 or float64; the work is done in float64).
    weight_chunk : ndarray, shape (n,), optional
        Their sample weights.
    statistics : bool, default True
        Compute ``counts``, ``sums`` and ``moments``.
    moments : bool, default True
        With ``statistics``: compute ``moments`` too (False for tied when the caller has the
        data's scatter already).
    log_resp, labels, log_marginal : bool, default False
        Also return ``ln gamma(z_nk)``, the most responsible component, ``ln p(x_n)``.
    shared_term : bool, default True
        Quadratic plans of tied covariances: include the term
        ``-1/2 (x - c)^T Lambda (x - c)`` shared by every component in ``log_likelihood``.
        False leaves it out (the caller adds ``-1/2 tr(Lambda S)`` from the scatter ``S``);
        the responsibilities do not depend on it, and ``log_marginal`` always has it.
    likelihood : bool, default True
        False with ``labels`` alone (no statistics, ``log_resp`` or ``log_marginal``): the
        labels need only the log joint densities and their maximum, so no ``exp`` or ``log``
        is evaluated and ``log_likelihood`` is NaN.

    Returns
    -------
    ChunkResult
    """
    D = plan.n_features
    kind = plan.kind
    phi = centred_t = None
    if plan.formulation == "factors":
        centred = np.subtract(X_chunk, plan.shift, dtype=np.float64)
        joint = _factor_log_joint(plan, centred)
    else:
        phi = _features_transposed(X_chunk, plan.shift, kind.engine_features, plan.kernels)
        centred_t = phi[1 : 1 + D]  # (D, n)
        joint = np.dot(plan.coefficients, phi)  # (K, n): log joint densities
    if not (likelihood or statistics or log_resp or log_marginal):
        # argmax_k of the joint densities: the shared term of tied types is the same for
        # every component, and ln p(x_n) is not asked for.
        if plan.kernels is not None:
            found = np.empty(joint.shape[1], dtype=np.intp)
            plan.kernels.most_responsible(joint, np.empty(joint.shape[1]), found)
            return ChunkResult(math.nan, labels=found)
        return ChunkResult(math.nan, labels=_most_responsible(joint, joint.max(axis=0)))
    shared = None
    if plan.shared_factor is not None and (shared_term or log_marginal):
        y = plan.shared_factor.T @ centred_t
        shared = -0.5 * np.einsum("dn,dn->n", y, y)
    result = ChunkResult(0.0)
    if log_resp:  # in log space, exact for tiny responsibilities
        result.log_resp = joint.T.copy()
    if plan.kernels is not None:  # the same in one compiled pass (joint: w_n gamma_nk)
        marginal, total = np.empty(joint.shape[1]), np.empty(joint.shape[1])
        found = np.empty(joint.shape[1], dtype=np.intp) if labels else _NO_LABELS
        weights = _NO_WEIGHTS if weight_chunk is None else np.ascontiguousarray(
            weight_chunk, dtype=np.float64)
        log_likelihood = plan.kernels.log_sum_exp_in_place(
            joint, weights, marginal, total, found, labels, statistics)
        if labels:
            result.labels = found
    else:
        largest = joint.max(axis=0)
        if labels:
            result.labels = _most_responsible(joint, largest)
        total = _shifted_exp_in_place(joint, largest)  # joint holds exp(l - max) from here
        marginal = np.log(total)
        marginal += largest  # ln p(x_n), without the shared term if there is one
    if log_resp:
        result.log_resp -= marginal[:, None]
    if shared is not None:
        with_shared = marginal + shared
        if log_marginal:
            result.log_marginal = with_shared
        if shared_term:
            marginal = with_shared
    elif log_marginal:
        result.log_marginal = marginal.copy()
    if plan.kernels is not None:
        if shared is not None and shared_term:
            log_likelihood += float(shared.sum() if weight_chunk is None
                                    else weight_chunk @ shared)
        result.log_likelihood = float(log_likelihood)
    else:
        result.log_likelihood = float(marginal.sum() if weight_chunk is None
                                      else weight_chunk @ marginal)
    if not statistics:
        return result
    if plan.kernels is None:
        # gamma_nk w_n = exp(l_nk - m_n) (w_n / s_n): one multiplier per point.
        scale = np.divide(1.0 if weight_chunk is None else weight_chunk, total)
        joint *= scale
    resp = joint
    pooled = kind.statistics_layout == "pooled"
    if phi is not None:
        T = np.dot(resp, phi.T)
        result.counts = T[:, 0].copy()
        result.sums = T[:, 1 : 1 + D].copy()
        if moments and not pooled:
            result.moments = _moments_from_features(T, D, kind.engine_features)
        if moments and pooled:  # the data's own scatter
            weighted = centred_t if weight_chunk is None else centred_t * weight_chunk
            result.moments = np.dot(weighted, centred_t.T)
        return result
    result.counts = resp.sum(axis=1)
    result.sums = np.dot(resp, centred)
    if moments and kind.statistics_layout == "diagonals":
        result.moments = np.dot(resp, centred * centred)
    elif moments and not pooled:
        result.moments = kind.moments_from_full(_factor_moments(resp, centred))
    elif moments and pooled:
        weighted = centred if weight_chunk is None else centred * weight_chunk[:, None]
        result.moments = np.dot(weighted.T, centred)
    return result


# -- whole passes --------------------------------------------------------------------------


def _shared_log_likelihood(plan: EStepPlan, scatter: np.ndarray) -> float:
    """``sum_n w_n (-1/2 (x_n - c)^T Lambda (x_n - c)) = -1/2 tr(P^T S P)`` for the shared
    factor ``P`` (``Lambda = P P^T``) and the scatter ``S`` about ``c``."""
    P = plan.shared_factor
    return -0.5 * float(np.einsum("de,de->", scatter @ P, P))


#: A pass is cut into at most this many tasks for the worker threads (see em_iteration).
_TASKS_PER_PASS = 64


def _added(total, part):
    """``total + part``, in place once ``total`` exists."""
    if total is None:
        return part.copy()
    total += part
    return total


def em_iteration(X: np.ndarray, theta: Mixture, shift: np.ndarray, weight, n_samples,
                 tied_moments=None, log_resp_out=None, with_statistics=True, *,
                 labels_out=None, log_marginal_out=None, formulation=None,
                 with_likelihood=True):
    """One E-step and the statistics of the following M-step, chunk by chunk.

    The chunks run on :func:`engine_threads` worker threads when called from the main
    thread (see the module docstring); the result does not depend on their number.

    Parameters
    ----------
    X : ndarray, shape (N, D)
        The data (centred on ``shift`` one chunk at a time).
    theta : Mixture
        The current parameters ``theta_old``.
    shift : ndarray, shape (D,)
    weight : ndarray, shape (N,), or None
    n_samples : float
        ``sum_n w_n``.
    tied_moments : ndarray, shape (D, D), optional
        ``sum_n w_n (x_n - c)(x_n - c)^T`` for the tied type (constant across iterations).
    log_resp_out : ndarray, shape (N, K), optional
        If given, receives ``ln gamma(z_nk)`` under ``theta``.
    with_statistics : bool, default True
        False for an E-step alone.
    labels_out : ndarray of int, shape (N,), optional
        If given, receives the most responsible component of every point.
    log_marginal_out : ndarray, shape (N,), optional
        If given, receives ``ln p(x_n)``.
    formulation : {"quadratic", "factors"}, optional
        See :func:`plan_e_step`.
    with_likelihood : bool, default True
        False, with ``labels_out`` alone and no statistics: only the labels are computed
        (no ``exp`` or ``log``) and ``log_likelihood`` is NaN.

    Returns
    -------
    log_likelihood : float
        ``ln p(X | theta_old)``, eq. :eq:`log-likelihood`.
    statistics : SufficientStatistics or None
        Of the responsibilities under ``theta_old``.
    """
    N, D = X.shape
    K = theta.n_components
    plan = plan_e_step(theta, shift, formulation, n_rows=N)
    rows = plan.rows
    pooled = theta.kind.statistics_layout == "pooled"
    need_moments = with_statistics and not (pooled and tied_moments is not None)
    # The shared term's share of ln p(X) from the scatter (once) rather than every point.
    from_scatter = plan.shared_factor is not None and tied_moments is not None
    log_likelihood = _shared_log_likelihood(plan, tied_moments) if from_scatter else 0.0
    counts, sums = np.zeros(K), np.zeros((K, D))
    moments = None
    bounds = [(start, min(start + rows, N)) for start in range(0, N, rows)]

    def one_chunk(span):
        start, stop = span
        return chunk_pass(
            plan, X[start:stop], None if weight is None else weight[start:stop],
            statistics=with_statistics, moments=need_moments,
            log_resp=log_resp_out is not None, labels=labels_out is not None,
            log_marginal=log_marginal_out is not None, shared_term=not from_scatter,
            likelihood=with_likelihood,
        )

    # A task is a run of consecutive chunks: at most _TASKS_PER_PASS of them, fixed by the
    # chunks alone (not by the threads), so the sums below are the same for any number of
    # threads. Each task adds its chunks' statistics itself (a pass keeps one partial sum
    # per task in flight, not one per chunk: at D = 64 a chunk's moments are 0.5 MB) and
    # writes its rows of the per-point outputs (disjoint slices) itself.
    per_task = -(-len(bounds) // _TASKS_PER_PASS)
    tasks = [bounds[i : i + per_task] for i in range(0, len(bounds), per_task)]

    def one_task(spans):
        total = ChunkResult(0.0)
        for start, stop in spans:
            part = one_chunk((start, stop))
            total.log_likelihood += part.log_likelihood
            if log_resp_out is not None:
                log_resp_out[start:stop] = part.log_resp
            if labels_out is not None:
                labels_out[start:stop] = part.labels
            if log_marginal_out is not None:
                log_marginal_out[start:stop] = part.log_marginal
            if with_statistics:
                total.counts = _added(total.counts, part.counts)
                total.sums = _added(total.sums, part.sums)
                if need_moments:
                    total.moments = _added(total.moments, part.moments)
        return total

    threads = engine_threads(plan.formulation, plan.kernels is not None)
    with _OneBlasThread():
        # In task order, whichever thread computed each task.
        for part in _ordered_map(one_task, tasks, threads):
            log_likelihood += part.log_likelihood
            if with_statistics:
                counts += part.counts
                sums += part.sums
                if need_moments:
                    moments = part.moments if moments is None else moments + part.moments
    if not with_statistics:
        return float(log_likelihood), None
    if not need_moments:
        moments = tied_moments
    statistics = SufficientStatistics(counts, sums, moments, np.asarray(shift, dtype=float),
                                      n_samples, theta.covariance_type)
    return float(log_likelihood), statistics


def e_step_chunked(X: np.ndarray, theta: Mixture, *, log_resp=False, labels=False,
                   log_marginal=False, formulation="accurate", log_likelihood=True):
    """The E-step alone over ``X`` (validated), keeping only what is asked for: memory
    ``O(N + chunk)`` for labels and ``ln p(x_n)``, ``O(N K)`` for the responsibilities.

    By default the "accurate" formulation (:func:`plan_e_step`): the quadratic features,
    fastest with few features, unless a narrow component far from the data's mean would
    make them lose more than about ``1e-12``; there the factor products, which form each
    point's offset from a component before squaring it, so that the values are accurate to
    rounding.

    Parameters
    ----------
    X : ndarray, shape (N, D)
        The data, already validated (:func:`gmm._validation.as_data`).
    theta : Mixture
    log_resp : bool, default False
        Keep ``ln gamma(z_nk)``, shape ``(N, K)``.
    labels : bool, default False
        Keep the most responsible component of every point, shape ``(N,)``.
    log_marginal : bool, default False
        Keep ``ln p(x_n)``, shape ``(N,)``.
    formulation : {"accurate", "quadratic", "factors"}, default "accurate"
        See :func:`plan_e_step`.
    log_likelihood : bool, default True
        False with ``labels`` alone skips the ``exp`` and ``log`` that the labels do not
        need (``"log_likelihood"`` is then NaN).

    Returns
    -------
    dict
        ``"log_likelihood"`` and the arrays asked for (``"log_resp"``, ``"labels"``,
        ``"log_marginal"``).
    """
    N = X.shape[0]
    out = {}
    if log_resp:
        out["log_resp"] = np.empty((N, theta.n_components))
    if labels:
        out["labels"] = np.empty(N, dtype=np.intp)
    if log_marginal:
        out["log_marginal"] = np.empty(N)
    out["log_likelihood"] = em_iteration(
        X, theta, data_shift(X), None, float(N), with_statistics=False,
        log_resp_out=out.get("log_resp"), labels_out=out.get("labels"),
        log_marginal_out=out.get("log_marginal"), formulation=formulation,
        with_likelihood=log_likelihood,
    )[0]
    return out
