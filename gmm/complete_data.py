"""The complete-data log-likelihood and the Q function (chapter 4)."""

from __future__ import annotations

import numpy as np

from ._validation import as_data
from .likelihood import _log_weighted_densities
from .mixture import Mixture

__all__ = ["complete_data_log_likelihood", "q_function", "responsibility_entropy"]


def _as_assignment(matrix, shape, name):
    matrix = np.array(matrix, dtype=np.float64, copy=True)
    if matrix.shape != shape:
        raise ValueError(
            f"{name} must have shape {shape} (n_samples, n_components); got {matrix.shape}."
        )
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    if not np.allclose(matrix.sum(axis=1), 1.0, rtol=0, atol=1e-8):
        raise ValueError(f"Every row of {name} must sum to 1 (a distribution over components).")
    return matrix


def _expected_log_joint(weighted: np.ndarray, resp: np.ndarray) -> float:
    # A term with gamma = 0 contributes 0 even where ln pi_k = -inf (masked before the
    # product, so that 0 * -inf raises no "invalid value" warning).
    positive = resp > 0
    return float(np.sum(np.where(positive, resp * np.where(positive, weighted, 0.0), 0.0)))


def complete_data_log_likelihood(X, Z, theta: Mixture) -> float:
    """``ln p(X, Z | theta) = sum_n sum_k z_nk [ln pi_k + ln N(x_n | mu_k, Sigma_k)]``,
    eq. :eq:`complete-data-log-likelihood`.

    Parameters
    ----------
    X : array_like, shape (N, D)
    Z : array_like, shape (N, K)
        One-hot rows: ``Z[n, k] = 1`` if point ``n`` came from component ``k``.
    theta : Mixture

    Returns
    -------
    float
    """
    X = as_data(X, n_features=theta.n_features)
    Z = _as_assignment(Z, (X.shape[0], theta.n_components), "Z")
    if not np.all((Z == 0) | (Z == 1)):
        raise ValueError("Z must be one-hot: entries 0 or 1, one 1 per row.")
    return _expected_log_joint(_log_weighted_densities(X, theta), Z)


def q_function(X, resp, theta: Mixture) -> float:
    """``Q(theta, theta_old) = sum_n sum_k gamma(z_nk) [ln pi_k + ln N(x_n | mu_k, Sigma_k)]``,
    eq. :eq:`q-function`.

    The expectation of the complete-data log-likelihood under the posterior of ``Z`` given by
    ``theta_old``; ``resp`` carries ``theta_old`` (it is ``responsibilities(X, theta_old)``),
    ``theta`` is the argument being varied.

    Parameters
    ----------
    X : array_like, shape (N, D)
    resp : array_like, shape (N, K)
        Responsibilities ``gamma(z_nk)`` under ``theta_old``; rows sum to one.
    theta : Mixture

    Returns
    -------
    float
    """
    X = as_data(X, n_features=theta.n_features)
    resp = _as_assignment(resp, (X.shape[0], theta.n_components), "resp")
    return _expected_log_joint(_log_weighted_densities(X, theta), resp)


def responsibility_entropy(resp) -> float:
    """``H(gamma) = -sum_n sum_k gamma(z_nk) ln gamma(z_nk)`` (``0 ln 0 = 0``),
    eq. :eq:`responsibility-entropy`.

    With ``gamma`` the responsibilities under ``theta``,
    ``ln p(X | theta) = Q(theta, theta) + H(gamma)``.

    Parameters
    ----------
    resp : array_like, shape (N, K)

    Returns
    -------
    float
    """
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2:
        raise ValueError(f"resp must be 2-D (n_samples, n_components); got shape {resp.shape}.")
    resp = _as_assignment(resp, resp.shape, "resp")
    positive = resp > 0
    return float(-np.sum(resp[positive] * np.log(resp[positive])))
