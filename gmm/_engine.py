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
"""

from __future__ import annotations

import dataclasses

import numpy as np

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
]

#: Target size in bytes of one chunk's largest temporary (small enough for a core's cache).
_CHUNK_BYTES = 1 << 18

#: Above this many features, "pairs" types (full covariances) use the factor products
#: instead of the quadratic features.
_QUADRATIC_FEATURES_MAX_D = 16

FORMULATIONS = ("quadratic", "factors")


def chunk_rows(width: int, budget: int = _CHUNK_BYTES) -> int:
    """Rows per chunk so that a ``(rows, width)`` float64 temporary is about ``budget``
    bytes."""
    return int(np.clip(budget // (8 * max(width, 1)), 32, 1 << 16))


def data_shift(X: np.ndarray, weight=None) -> np.ndarray:
    """The (weighted) mean of the data in float64, shape ``(D,)``: the centre ``c``."""
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

    @property
    def rows(self) -> int:
        """Rows per chunk for this plan: its largest temporary, ``(rows, width)`` features
        or ``(K, rows)`` densities, about ``_CHUNK_BYTES``."""
        K, D = self.n_components, self.n_features
        if self.formulation == "factors" and self.kind.engine_features == "squares":
            return chunk_rows(max(D, K))
        if self.formulation == "factors":
            # Larger chunks than elsewhere: the products are BLAS-bound, and few large calls
            # beat many small ones; the (K D, rows) temporaries are about 2 MiB.
            return chunk_rows(K * D, 8 * _CHUNK_BYTES)
        return chunk_rows(max(self.coefficients.shape[1], K))


def _feature_width(n_features: int, features: str) -> int:
    if features == "pairs":
        return 1 + n_features + n_features * (n_features + 1) // 2
    if features == "none":
        return 1 + n_features
    return 1 + 2 * n_features


def _features(centred: np.ndarray, features: str) -> np.ndarray:
    n, D = centred.shape
    phi = np.empty((n, _feature_width(D, features)))
    phi[:, 0] = 1.0
    phi[:, 1 : 1 + D] = centred
    if features == "pairs":
        position = 1 + D
        for i in range(D):
            np.multiply(centred[:, i : i + 1], centred[:, i:],
                        out=phi[:, position : position + D - i])
            position += D - i
    elif features == "squares":
        np.multiply(centred, centred, out=phi[:, 1 + D :])
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


def plan_e_step(theta: Mixture, shift, formulation: str | None = None) -> EStepPlan:
    """Everything the E-step needs from ``theta``, for data centred on ``shift``.

    Parameters
    ----------
    theta : Mixture
    shift : array_like, shape (D,)
    formulation : {"quadratic", "factors"}, optional
        Chosen by the number of features when not given (both give the same numbers).

    Returns
    -------
    EStepPlan
    """
    shift = np.asarray(shift, dtype=np.float64)
    if formulation is None:
        many = theta.n_features > _QUADRATIC_FEATURES_MAX_D
        formulation = "factors" if many and theta.kind.engine_features == "pairs" else (
            "quadratic")
    if formulation == "quadratic":
        return _quadratic_plan(theta, shift)
    if formulation == "factors":
        return _factors_plan(theta, shift)
    raise ValueError(f"formulation must be one of {FORMULATIONS}; got {formulation!r}.")


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


def _normalise_in_place(log_joint: np.ndarray) -> np.ndarray:
    """Turn ``(K, n)`` log joint densities into responsibilities in place; return
    ``ln p(x_n)``, shape ``(n,)`` (log-sum-exp, eq. :eq:`log-sum-exp`).

    Components run along the first axis so that the reductions over them are element-wise
    operations on contiguous rows."""
    largest = log_joint.max(axis=0)
    np.subtract(log_joint, largest, out=log_joint)
    np.exp(log_joint, out=log_joint)
    total = log_joint.sum(axis=0)
    np.divide(log_joint, total, out=log_joint)
    np.log(total, out=total)
    total += largest
    return total


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
    y1 = plan.first @ augmented[:, : h + 1].T
    y2 = plan.second @ augmented.T
    np.multiply(y1, y1, out=y1)
    np.multiply(y2, y2, out=y2)
    log_joint = y1.reshape(K, h, n).sum(axis=1)  # squared Mahalanobis distances, (K, n)
    log_joint += y2.reshape(K, D - h, n).sum(axis=1)
    log_joint *= -0.5
    log_joint += plan.constant[:, None]
    return log_joint


def _factor_moments(resp: np.ndarray, centred: np.ndarray) -> np.ndarray:
    """``sum_n gamma_nk (x_n - c)(x_n - c)^T`` for every ``k``, shape ``(K, D, D)``: rows
    ``(k, d)`` of the left factor are ``gamma_k * x_d`` over the chunk. The upper rows give
    the upper blocks; the lower rows only the lower-right block (the lower-left one is the
    transpose of the upper-right)."""
    K, n = resp.shape
    D = centred.shape[1]
    h = D // 2
    moments = np.empty((K, D, D))
    chunk_t = np.ascontiguousarray(centred.T)
    left1 = resp[:, None, :] * chunk_t[None, :h]
    left2 = resp[:, None, :] * chunk_t[None, h:]
    moments[:, :h, :] = (left1.reshape(K * h, n) @ centred).reshape(K, h, D)
    moments[:, h:, h:] = (left2.reshape(K * (D - h), n) @ centred[:, h:]).reshape(
        K, D - h, D - h
    )
    moments[:, h:, :h] = moments[:, :h, h:].transpose(0, 2, 1)
    return moments


def _moments_from_features(T: np.ndarray, D: int, features: str) -> np.ndarray:
    """Second moments from the ``(K, width)`` feature statistics ``Gamma^T Phi``."""
    if features == "pairs":
        rows, cols = np.triu_indices(D)
        moments = np.empty((T.shape[0], D, D))
        moments[:, rows, cols] = T[:, 1 + D :]
        moments[:, cols, rows] = T[:, 1 + D :]
        return moments
    return T[:, 1 + D :].copy()


def chunk_pass(plan: EStepPlan, X_chunk: np.ndarray, weight_chunk=None, *,
               statistics: bool = True, moments: bool = True, log_resp: bool = False,
               labels: bool = False, log_marginal: bool = False) -> ChunkResult:
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

    Returns
    -------
    ChunkResult
    """
    centred = np.subtract(X_chunk, plan.shift, dtype=np.float64)
    D = plan.n_features
    phi = None
    if plan.formulation == "factors":
        joint = _factor_log_joint(plan, centred)
    else:
        phi = _features(centred, plan.kind.engine_features)
        joint = plan.coefficients @ phi.T  # (K, n): log joint densities
        if plan.shared_factor is not None:
            y = centred @ plan.shared_factor
            joint -= 0.5 * np.einsum("nd,nd->n", y, y)
    result = ChunkResult(0.0)
    if labels:
        result.labels = joint.argmax(axis=0)
    if log_resp:  # in log space, exact for tiny responsibilities
        result.log_resp = joint.T.copy()
    marginal = _normalise_in_place(joint)  # joint now holds the responsibilities
    if log_resp:
        result.log_resp -= marginal[:, None]
    if log_marginal:
        result.log_marginal = marginal.copy()
    if weight_chunk is None:
        result.log_likelihood = float(marginal.sum())
    else:
        result.log_likelihood = float(weight_chunk @ marginal)
        joint *= weight_chunk
    if not statistics:
        return result
    resp = joint
    kind = plan.kind
    pooled = kind.statistics_layout == "pooled"
    if phi is not None:
        T = resp @ phi
        result.counts = T[:, 0].copy()
        result.sums = T[:, 1 : 1 + D].copy()
        if moments and not pooled:
            result.moments = _moments_from_features(T, D, kind.engine_features)
    else:
        result.counts = resp.sum(axis=1)
        result.sums = resp @ centred
        if moments and kind.statistics_layout == "diagonals":
            result.moments = resp @ (centred * centred)
        elif moments and not pooled:
            result.moments = kind.moments_from_full(_factor_moments(resp, centred))
    if moments and pooled:  # the data's own scatter
        weighted = centred if weight_chunk is None else centred * weight_chunk[:, None]
        result.moments = weighted.T @ centred
    return result


# -- whole passes --------------------------------------------------------------------------


def em_iteration(X: np.ndarray, theta: Mixture, shift: np.ndarray, weight, n_samples,
                 tied_moments=None, log_resp_out=None, with_statistics=True, *,
                 labels_out=None, log_marginal_out=None, formulation=None):
    """One E-step and the statistics of the following M-step, chunk by chunk.

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

    Returns
    -------
    log_likelihood : float
        ``ln p(X | theta_old)``, eq. :eq:`log-likelihood`.
    statistics : SufficientStatistics or None
        Of the responsibilities under ``theta_old``.
    """
    N, D = X.shape
    K = theta.n_components
    plan = plan_e_step(theta, shift, formulation)
    rows = plan.rows
    pooled = theta.kind.statistics_layout == "pooled"
    need_moments = with_statistics and not (pooled and tied_moments is not None)
    log_likelihood = 0.0
    counts, sums = np.zeros(K), np.zeros((K, D))
    moments = None
    for start in range(0, N, rows):
        stop = min(start + rows, N)
        part = chunk_pass(
            plan, X[start:stop], None if weight is None else weight[start:stop],
            statistics=with_statistics, moments=need_moments,
            log_resp=log_resp_out is not None, labels=labels_out is not None,
            log_marginal=log_marginal_out is not None,
        )
        log_likelihood += part.log_likelihood
        if log_resp_out is not None:
            log_resp_out[start:stop] = part.log_resp
        if labels_out is not None:
            labels_out[start:stop] = part.labels
        if log_marginal_out is not None:
            log_marginal_out[start:stop] = part.log_marginal
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
                   log_marginal=False, formulation="factors"):
    """The E-step alone over ``X`` (validated), keeping only what is asked for: memory
    ``O(N + chunk)`` for labels and ``ln p(x_n)``, ``O(N K)`` for the responsibilities.

    By default with the factor products: each point's offset from a component is formed
    before it is squared, so the values are accurate to rounding even for a narrow component
    far from the data's mean (the quadratic features, fastest for EM with few features, lose
    ``eps |x - c|^2 / sigma_k^2`` there).

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
    )[0]
    return out
