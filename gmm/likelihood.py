"""Densities, the marginal, the log-likelihood and the responsibilities (chapters 1 to 3).

Every function works in log space: densities of points far from every component underflow
to zero in linear space, their logarithms do not.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_data, as_sample_weight
from .mixture import Mixture

__all__ = [
    "log_gaussian_density",
    "log_weighted_densities",
    "logsumexp",
    "log_marginal",
    "log_likelihood",
    "log_responsibilities",
    "responsibilities",
]

#: ``ln(2 pi)``, the constant of every Gaussian log-density (also used by gmm._engine).
LOG_2PI = float(np.log(2.0 * np.pi))


def _log_gaussian_density(X: np.ndarray, theta: Mixture) -> np.ndarray:
    kind = theta.kind
    factor = np.asarray(theta.precisions_cholesky)
    distances = kind.squared_mahalanobis(X, theta.means, factor)
    log_det = kind.log_det_precisions_cholesky(factor, theta.n_features)
    return -0.5 * (theta.n_features * LOG_2PI + distances) + log_det


def _log_weighted_densities(X: np.ndarray, theta: Mixture) -> np.ndarray:
    with np.errstate(divide="ignore"):  # ln 0 = -inf for a component of weight zero
        log_weights = np.log(theta.weights)
    return _log_gaussian_density(X, theta) + log_weights


def log_gaussian_density(X, theta: Mixture) -> np.ndarray:
    """The log-density of every point under every component, eq. :eq:`log-gaussian`.

    ``ln N(x_n | mu_k, Sigma_k) = -D/2 ln(2 pi) - 1/2 ln|Sigma_k|
    - 1/2 (x_n - mu_k)^T Sigma_k^{-1} (x_n - mu_k)``, computed through the Cholesky factor of
    the precision (no inverse, no determinant).

    Parameters
    ----------
    X : array_like, shape (N, D)
    theta : Mixture

    Returns
    -------
    ndarray, shape (N, K)
    """
    X = as_data(X, n_features=theta.n_features)
    return _log_gaussian_density(X, theta)


def log_weighted_densities(X, theta: Mixture) -> np.ndarray:
    """``ln pi_k + ln N(x_n | mu_k, Sigma_k) = ln p(x_n, z_nk = 1)``, eq. :eq:`joint-x-z`.

    Parameters
    ----------
    X : array_like, shape (N, D)
    theta : Mixture

    Returns
    -------
    ndarray, shape (N, K)
    """
    X = as_data(X, n_features=theta.n_features)
    return _log_weighted_densities(X, theta)


def logsumexp(a, axis: int | None = -1) -> np.ndarray:
    """``ln sum_i exp(a_i)`` without overflow or underflow, eq. :eq:`log-sum-exp`.

    Uses ``ln sum exp(a_i) = m + ln sum exp(a_i - m)`` with ``m = max_i a_i``, so the largest
    term is ``exp(0) = 1`` and the sum cannot underflow to zero. Entries of ``-inf`` (terms
    of probability zero) are allowed; a slice of only ``-inf`` gives ``-inf``.

    Parameters
    ----------
    a : array_like
    axis : int or None, default -1
        The axis summed over; None sums over every entry.

    Returns
    -------
    ndarray
        ``a`` with ``axis`` removed (a float for ``axis=None``).
    """
    a = np.asarray(a, dtype=np.float64)
    largest = np.max(a, axis=axis, keepdims=True)
    largest = np.where(np.isfinite(largest), largest, 0.0)
    with np.errstate(divide="ignore"):
        result = np.log(np.sum(np.exp(a - largest), axis=axis, keepdims=True)) + largest
    if axis is None:
        return float(result.reshape(()))
    return np.squeeze(result, axis=axis)


def log_marginal(X, theta: Mixture) -> np.ndarray:
    """``ln p(x_n) = ln sum_k pi_k N(x_n | mu_k, Sigma_k)``, eq. :eq:`mixture-density`.

    Parameters
    ----------
    X : array_like, shape (N, D)
    theta : Mixture

    Returns
    -------
    ndarray, shape (N,)
    """
    return logsumexp(log_weighted_densities(X, theta), axis=1)


def log_likelihood(X, theta: Mixture, sample_weight=None) -> float:
    """``ln p(X | theta) = sum_n ln sum_k pi_k N(x_n | mu_k, Sigma_k)``, eq. :eq:`log-likelihood`.

    A sum over the points (scikit-learn's ``score`` is the mean instead).

    Parameters
    ----------
    X : array_like, shape (N, D)
    theta : Mixture
    sample_weight : array_like, shape (N,), optional
        Point ``n`` counts ``sample_weight[n]`` times.

    Returns
    -------
    float
    """
    X = as_data(X, n_features=theta.n_features)
    weight = as_sample_weight(sample_weight, X.shape[0])
    log_p = logsumexp(_log_weighted_densities(X, theta), axis=1)
    return float(log_p.sum() if weight is None else weight @ log_p)


def log_responsibilities(X, theta: Mixture) -> np.ndarray:
    """``ln gamma(z_nk)``, the log of eq. :eq:`responsibility`, computed in log space.

    Parameters
    ----------
    X : array_like, shape (N, D)
    theta : Mixture

    Returns
    -------
    ndarray, shape (N, K)
    """
    weighted = log_weighted_densities(X, theta)
    return weighted - logsumexp(weighted, axis=1)[:, None]


def responsibilities(X, theta: Mixture) -> np.ndarray:
    """``gamma(z_nk) = p(z_k = 1 | x_n) = pi_k N(x_n | mu_k, Sigma_k) / sum_j pi_j N(x_n | mu_j,
    Sigma_j)``, eq. :eq:`responsibility` (Bayes' rule).

    Computed as ``exp(ln pi_k + ln N_k - logsumexp_j(...))``: every row sums to one to
    rounding, even for a point far from every component.

    Parameters
    ----------
    X : array_like, shape (N, D)
    theta : Mixture

    Returns
    -------
    ndarray, shape (N, K)
    """
    return np.exp(log_responsibilities(X, theta))
