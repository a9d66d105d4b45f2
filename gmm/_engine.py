"""The fast engine behind :func:`gmm.em`: one EM iteration as a few large matrix products.

The teaching functions (:func:`gmm.e_step`, :func:`gmm.m_step`) follow the equations
component by component. This module computes the same quantities, but arranged for the
processor, and the tests keep the two equal:

- The data are centred once (on their weighted mean ``c``), so that the expansions below do
  not cancel catastrophically for data far from the origin.
- Every log joint density ``ln pi_k + ln N(x | mu_k, Sigma_k)`` is a quadratic function of
  ``x``: with ``Lambda_k = Sigma_k^{-1}`` and ``m_k = mu_k - c``,
  ``-1/2 x^T Lambda_k x + x^T Lambda_k m_k + (ln pi_k - D/2 ln 2 pi + 1/2 ln|Lambda_k|
  - 1/2 m_k^T Lambda_k m_k)``.
  So with the features ``phi(x) = [1, x, x_i x_j (i <= j)]`` (``[1, x, x_d^2]`` for diagonal
  covariances) the ``(N, K)`` matrix of log joint densities is ONE product ``Phi @ W``.
- The same features give every sufficient statistic of eq. :eq:`sufficient-statistics` in
  ONE product ``Phi^T @ Gamma``: the column of ones gives ``N_k``, the ``x`` columns give
  ``sum gamma x``, the products give ``sum gamma x x^T``.
- The data are processed in chunks of rows, E-step and statistics together, so the
  temporaries stay in cache and the memory is a fixed chunk, not ``O(N K)``.
- For many features (``D(D+1)/2`` large) the quadratic features cost more than they save;
  there the E-step is one product ``[X, 1] @ [P_1 | ... | P_K]`` of the data with every
  precision Cholesky factor at once (the Mahalanobis terms are then sums of squares) and
  the second moments of all components are one product per chunk.
"""

from __future__ import annotations

import numpy as np

from .mixture import Mixture
from .mstep import _COUNT_FLOOR, SufficientStatistics

__all__ = ["em_iteration", "chunk_rows", "centred_moments"]

_LOG_2PI = np.log(2.0 * np.pi)

#: Target size in bytes of one chunk's largest temporary (small enough for a core's cache).
_CHUNK_BYTES = 1 << 18

#: Above this many features, full covariances use the factor products instead of the
#: quadratic features.
_QUADRATIC_FEATURES_MAX_D = 16


def chunk_rows(width: int) -> int:
    """Rows per chunk so that a ``(rows, width)`` float64 temporary is about 256 KiB."""
    return int(np.clip(_CHUNK_BYTES // (8 * max(width, 1)), 32, 1 << 16))


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


def _upper_indices(n_features):
    return np.triu_indices(n_features)


def _feature_width(n_features: int, covariance_type: str) -> int:
    if covariance_type == "full":
        return 1 + n_features + n_features * (n_features + 1) // 2
    if covariance_type == "tied":
        return 1 + n_features
    return 1 + 2 * n_features


def _features(centred: np.ndarray, covariance_type: str, out: np.ndarray) -> np.ndarray:
    n, D = centred.shape
    phi = out[:n]
    phi[:, 0] = 1.0
    phi[:, 1 : 1 + D] = centred
    if covariance_type == "full":
        position = 1 + D
        for i in range(D):
            block = phi[:, position : position + D - i]
            np.multiply(centred[:, i : i + 1], centred[:, i:], out=block)
            position += D - i
    elif covariance_type in ("diag", "spherical"):
        np.multiply(centred, centred, out=phi[:, 1 + D :])
    return phi


def _log_joint_coefficients(theta: Mixture, shift: np.ndarray) -> np.ndarray:
    """``W`` with ``phi(x - c) @ W = ln pi_k + ln N(x | mu_k, Sigma_k)`` (tied: without the
    ``-1/2 x^T Lambda x`` term, the same for every component)."""
    D, K = theta.n_features, theta.n_components
    kind = theta.kind
    factor = np.asarray(theta.precisions_cholesky)
    with np.errstate(divide="ignore"):
        constant = np.log(theta.weights) - 0.5 * D * _LOG_2PI + kind.log_det_precisions_cholesky(
            factor, D
        )
    offsets = theta.means - shift
    W = np.empty((_feature_width(D, theta.covariance_type), K))
    if theta.covariance_type in ("full", "tied"):
        if theta.covariance_type == "full":
            precisions = factor @ factor.transpose(0, 2, 1)
        else:
            precisions = np.broadcast_to(factor @ factor.T, (K, D, D))
        linear = np.einsum("kde,ke->kd", precisions, offsets)
        W[0] = constant - 0.5 * np.einsum("kd,kd->k", offsets, linear)
        W[1 : 1 + D] = linear.T
        if theta.covariance_type == "full":
            rows, cols = _upper_indices(D)
            quadratic = -precisions[:, rows, cols]
            quadratic[:, rows == cols] *= 0.5
            W[1 + D :] = quadratic.T
    else:
        precisions = factor**2
        if theta.covariance_type == "spherical":
            precisions = np.repeat(precisions[:, None], D, axis=1)
        W[0] = constant - 0.5 * np.einsum("kd,kd->k", offsets**2, precisions)
        W[1 : 1 + D] = (precisions * offsets).T
        W[1 + D :] = -0.5 * precisions.T
    return W


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


def _finish_e_step(resp, start, weight, log_resp_out) -> float:
    """Turn a chunk's ``(K, n)`` log joint densities into (weighted) responsibilities in
    place, fill its rows of ``log_resp_out`` if given, and return its share of
    ``ln p(X)``."""
    n = resp.shape[1]
    if log_resp_out is not None:  # in log space, exact for tiny responsibilities
        log_resp_out[start : start + n] = resp.T
    log_marginal = _normalise_in_place(resp)
    if log_resp_out is not None:
        log_resp_out[start : start + n] -= log_marginal[:, None]
    if weight is None:
        return float(log_marginal.sum())
    w = weight[start : start + n]
    resp *= w
    return float(w @ log_marginal)


def _statistics_from_features(T, D, covariance_type, shift, n_samples, tied_moments):
    counts = T[0] + _COUNT_FLOOR
    sums = T[1 : 1 + D].T.copy()
    if covariance_type == "full":
        rows, cols = _upper_indices(D)
        moments = np.empty((T.shape[1], D, D))
        moments[:, rows, cols] = T[1 + D :].T
        moments[:, cols, rows] = T[1 + D :].T
    elif covariance_type == "tied":
        moments = tied_moments
    else:
        moments = T[1 + D :].T.copy()
    return SufficientStatistics(counts, sums, moments, shift, n_samples, covariance_type)


def em_iteration(X: np.ndarray, theta: Mixture, shift: np.ndarray, weight, n_samples,
                 tied_moments=None, log_resp_out=None, with_statistics=True):
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
        False for an E-step alone (the last one of a fit).

    Returns
    -------
    log_likelihood : float
        ``ln p(X | theta_old)``, eq. :eq:`log-likelihood`.
    statistics : SufficientStatistics or None
        Of the responsibilities under ``theta_old``.
    """
    N, D = X.shape
    kind = theta.covariance_type
    if kind == "full" and D > _QUADRATIC_FEATURES_MAX_D:
        return _em_iteration_factors(
            X, theta, shift, weight, n_samples, log_resp_out, with_statistics
        )
    width = _feature_width(D, kind)
    rows = chunk_rows(width)
    W = _log_joint_coefficients(theta, shift)
    buffer = np.empty((min(rows, N), width))
    T = np.zeros((theta.n_components, width))
    log_likelihood = 0.0
    tied_factor = np.asarray(theta.precisions_cholesky) if kind == "tied" else None
    Wt = np.ascontiguousarray(W.T)
    for start in range(0, N, rows):
        chunk = X[start : start + rows] - shift
        phi = _features(chunk, kind, buffer)
        resp = Wt @ phi.T  # (K, n): log joint densities
        if tied_factor is not None:
            y = chunk @ tied_factor
            resp -= 0.5 * np.einsum("nd,nd->n", y, y)
        log_likelihood += _finish_e_step(resp, start, weight, log_resp_out)
        if with_statistics:
            T += resp @ phi
    if not with_statistics:
        return float(log_likelihood), None
    statistics = _statistics_from_features(T.T, D, kind, shift, n_samples, tied_moments)
    return float(log_likelihood), statistics


def _em_iteration_factors(X, theta, shift, weight, n_samples, log_resp_out, with_statistics):
    """Full covariances with many features: the data times every precision factor at once,
    and the second moments of every component in one product.

    Two structures the dense products would ignore are used, each saving a quarter of the
    flops. The factor ``P_k`` is upper triangular, so coordinate ``d`` of ``P_k^T (x - m_k)``
    needs only ``x_0 .. x_d``: the first half of the coordinates is a product with the first
    half of the features. And ``S_k`` is symmetric: its lower-left block is the transpose of
    the upper-right one.
    """
    N, D = X.shape
    K = theta.n_components
    h = D // 2  # coordinates 0..h-1 form the first half
    factor = np.asarray(theta.precisions_cholesky)
    offsets = theta.means - shift
    # [1, x] @ [[-m_k^T P_k], [P_k]] = (x - m_k)^T P_k for every k at once; row j of the
    # stacked matrix multiplies feature j (feature 0 is the constant 1).
    stacked = np.empty((D + 1, K, D))
    stacked[0] = -np.einsum("kd,kde->ke", offsets, factor)
    stacked[1:] = factor.transpose(1, 0, 2)
    first = np.ascontiguousarray(stacked[: h + 1, :, :h].reshape(h + 1, K * h).T)
    second = np.ascontiguousarray(stacked[:, :, h:].reshape(D + 1, K * (D - h)).T)
    with np.errstate(divide="ignore"):
        constant = np.log(theta.weights) - 0.5 * D * _LOG_2PI + np.sum(
            np.log(np.diagonal(factor, axis1=1, axis2=2)), axis=1
        )
    # Larger chunks than elsewhere: the products are BLAS-bound, and few large calls beat
    # many small ones; the (K D, rows) temporaries are about 2 MiB.
    rows = min(chunk_rows(K * D) * 8, N)
    augmented = np.empty((rows, D + 1))
    augmented[:, 0] = 1.0
    # Reused buffers: a fresh 2 MiB temporary per chunk would be mapped and faulted in anew.
    projected_first = np.empty((K * h, rows))
    projected_second = np.empty((K * (D - h), rows))
    transposed = np.empty((D, rows))
    scaled_first = np.empty((K, h, rows))
    scaled_second = np.empty((K, D - h, rows))
    counts = np.zeros(K)
    sums = np.zeros((K, D))
    moments = np.zeros((K, D, D))
    log_likelihood = 0.0
    for start in range(0, N, rows):
        n = min(rows, N - start)
        np.subtract(X[start : start + n], shift, out=augmented[:n, 1:])
        chunk = augmented[:n, 1:]
        y1 = projected_first[:, :n]
        y2 = projected_second[:, :n]
        np.matmul(first, augmented[:n, : h + 1].T, out=y1)
        np.matmul(second, augmented[:n].T, out=y2)
        np.multiply(y1, y1, out=y1)
        np.multiply(y2, y2, out=y2)
        resp = y1.reshape(K, h, n).sum(axis=1)  # squared Mahalanobis distances, (K, n)
        resp += y2.reshape(K, D - h, n).sum(axis=1)
        resp *= -0.5
        resp += constant[:, None]
        log_likelihood += _finish_e_step(resp, start, weight, log_resp_out)
        if not with_statistics:
            continue
        counts += resp.sum(axis=1)
        sums += resp @ chunk
        # sum_n gamma_nk x_n x_n^T for every k: rows (k, d) of the left factor are
        # gamma_k * x_d over the chunk. The upper rows give the upper blocks; the lower rows
        # only the lower-right block (the lower-left one is the transpose of the upper-right).
        chunk_t = transposed[:, :n]
        chunk_t[...] = chunk.T
        left1 = scaled_first[:, :, :n]
        left2 = scaled_second[:, :, :n]
        np.multiply(resp[:, None, :], chunk_t[None, :h], out=left1)
        np.multiply(resp[:, None, :], chunk_t[None, h:], out=left2)
        moments[:, :h, :] += (left1.reshape(K * h, n) @ chunk).reshape(K, h, D)
        moments[:, h:, h:] += (left2.reshape(K * (D - h), n) @ chunk[:, h:]).reshape(
            K, D - h, D - h
        )
    if not with_statistics:
        return float(log_likelihood), None
    moments[:, h:, :h] = moments[:, :h, h:].transpose(0, 2, 1)
    statistics = SufficientStatistics(
        counts + _COUNT_FLOOR, sums, moments, shift, n_samples, "full"
    )
    return float(log_likelihood), statistics
