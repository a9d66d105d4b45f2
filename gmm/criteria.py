"""Criteria on a fitted mixture: free parameters, BIC, AIC, and when a component has
collapsed or a fit is degenerate (chapters 3 and 7). One home for each definition, so that
EM, the estimator and model selection judge a fit alike."""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_positive_int
from .covariance import get_covariance_type
from .mixture import Mixture

__all__ = [
    "n_parameters",
    "bic",
    "aic",
    "icl",
    "is_degenerate",
    "relative_variances",
    "collapsed_components",
    "mixture_spread",
    "COLLAPSE_RTOL",
    "DEGENERATE_RTOL",
]

#: EM stops when a component's variance in some direction falls below this fraction of the
#: data's variance in the same direction: the statistics carry a relative rounding error of
#: about 1e-16 of the data's spread, so such a variance is rounding noise and ln p(X) with it.
COLLAPSE_RTOL = 1e-12

#: A fit is degenerate when a component's own spread (its covariance less ``reg_covar``) in
#: some direction is below this fraction of the data's spread there: it sits on a single
#: point or a lower-dimensional set, and its likelihood is large for the wrong reason.
DEGENERATE_RTOL = 1e-8


def relative_variances(theta: Mixture, data_spread, floor: float = 0.0) -> np.ndarray:
    """Each component's smallest variance relative to the data's variance in the same
    direction: ``min_v v^T (Sigma_k - floor I) v / v^T S v`` over the directions ``v`` in
    which the data spread, shape ``(K,)``.

    The one measure of collapse in gmm. It is scale-free: rescaling a feature (or, for full
    and tied covariances, any invertible linear map of the data) and translating the data
    change neither it nor any decision taken with it, unlike a comparison of variances across
    features or with a fixed threshold. Directions in which the data themselves have no
    spread (a constant feature) cannot show a collapse and are left out.

    Parameters
    ----------
    theta : Mixture
    data_spread : ndarray
        The data's covariance ``S``: shape ``(D, D)`` for full and tied covariances, its
        diagonal ``(D,)`` for diag and spherical.
    floor : float, default 0
        Taken off every variance first (``reg_covar``, to judge what the data gave).

    Returns
    -------
    ndarray, shape (K,)
    """
    return theta.kind.relative_variances(np.asarray(theta.covariances), np.asarray(data_spread),
                                         float(floor))


def collapsed_components(theta: Mixture, data_spread, rtol: float = COLLAPSE_RTOL):
    """Indices of the components of ``theta`` that have collapsed: their variance in some
    direction is at most ``rtol`` times the data's (:func:`relative_variances`).

    Parameters
    ----------
    theta : Mixture
    data_spread : ndarray
        As in :func:`relative_variances`.
    rtol : float, default ``COLLAPSE_RTOL``

    Returns
    -------
    ndarray of int
    """
    return np.flatnonzero(relative_variances(theta, data_spread) <= rtol)


def mixture_spread(theta: Mixture, floor: float = 0.0) -> np.ndarray:
    """The covariance of the mixture distribution less ``floor I``, in the layout of
    :func:`relative_variances`: ``sum_k pi_k (Sigma_k + d_k d_k^T) - floor I`` with
    ``d_k = mu_k - sum_j pi_j mu_j``. After an M-step without held parameters it is the
    data's (weighted) covariance exactly, so it stands for the data when only ``theta`` is
    known."""
    offsets = theta.means - theta.weights @ theta.means
    full = np.einsum("k,kde->de", theta.weights, theta.covariances_full) + np.einsum(
        "k,kd,ke->de", theta.weights, offsets, offsets
    )
    full[np.diag_indices_from(full)] -= floor
    return theta.kind.spread_layout(full)


def n_parameters(n_components: int, n_features: int, covariance_type: str = "full") -> int:
    """The number of free parameters of a mixture, eq. :eq:`n-parameters`:
    ``K - 1`` weights, ``K D`` means, and the covariances' own count (full ``K D (D + 1) / 2``,
    tied ``D (D + 1) / 2``, diag ``K D``, spherical ``K``).

    Parameters
    ----------
    n_components : int
    n_features : int
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    int
    """
    n_components = check_positive_int(n_components, "n_components")
    n_features = check_positive_int(n_features, "n_features")
    kind = get_covariance_type(covariance_type)
    return (n_components - 1) + n_components * n_features + kind.n_parameters(
        n_components, n_features
    )


def bic(log_likelihood: float, n_parameters: int, n_samples: int) -> float:
    """Bayesian information criterion ``-2 ln p(X | theta) + p ln N``, eq. :eq:`bic`
    (Schwarz, 1978). Lower is better.

    Parameters
    ----------
    log_likelihood : float
        ``ln p(X | theta)`` of the fit.
    n_parameters : int
        ``p``, the number of free parameters (:func:`n_parameters`).
    n_samples : int
        ``N``, the number of points.

    Returns
    -------
    float
    """
    return -2.0 * float(log_likelihood) + n_parameters * math.log(n_samples)


def aic(log_likelihood: float, n_parameters: int) -> float:
    """Akaike information criterion ``-2 ln p(X | theta) + 2 p``, eq. :eq:`aic`
    (Akaike, 1974). Lower is better.

    Parameters
    ----------
    log_likelihood : float
        ``ln p(X | theta)`` of the fit.
    n_parameters : int
        ``p``, the number of free parameters (:func:`n_parameters`).

    Returns
    -------
    float
    """
    return -2.0 * float(log_likelihood) + 2.0 * n_parameters


def icl(log_likelihood: float, n_parameters: int, n_samples: int, resp) -> float:
    """Integrated completed likelihood, eq. :eq:`icl` (Biernacki, Celeux and Govaert, 2000),
    as R's mclust computes it, in the sign of :func:`bic` (lower is better):
    ``BIC - 2 sum_n ln gamma(z_{n c_n})`` with ``c_n = argmax_k gamma(z_nk)``, the
    component each point is assigned to.

    mclust's ``icl`` is ``BIC_mclust + 2 sum_n ln gamma(z_{n c_n})`` with its
    ``BIC_mclust = 2 ln p(X | theta) - p ln N`` (higher is better), so this is minus
    mclust's value. The penalty ``-2 sum_n ln gamma(z_{n c_n}) >= 0`` grows with the overlap
    of the components; with soft responsibilities in place of the assignment it becomes
    ``2 H(gamma)``, twice the entropy of chapter 4, which is at least as large.

    Parameters
    ----------
    log_likelihood : float
        ``ln p(X | theta)``, a sum over points.
    n_parameters : int
    n_samples : int
    resp : array_like, shape (N, K)
        The responsibilities under the fitted ``theta``.

    Returns
    -------
    float
    """
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != n_samples:
        raise ValueError(
            f"resp must have shape (n_samples, n_components) = ({n_samples}, K); got "
            f"{resp.shape}."
        )
    # The largest responsibility of a point is at least 1/K: its logarithm is finite.
    assigned = np.max(resp, axis=1)
    return bic(log_likelihood, n_parameters, n_samples) - 2.0 * float(np.sum(np.log(assigned)))


def is_degenerate(theta: Mixture, reg_covar: float | None = 1e-6) -> bool:
    """Whether a component of ``theta`` has collapsed.

    A fit is degenerate when some component, once ``reg_covar`` is taken off its variances,
    has in some direction less than ``DEGENERATE_RTOL`` of the spread of the data in that
    direction (:func:`relative_variances`; the data's spread is read off ``theta`` itself,
    :func:`mixture_spread`): it lies on a lower-dimensional set (such as points that share
    one value) or on a single point, and the data gave it essentially no spread. Its
    likelihood is then large for the wrong reason (the singularity of chapter 3), so model
    selection must not pick it, as R's mclust does not. The judgement is scale-free: a
    feature measured in other units, or shifted, gives the same answer.

    Parameters
    ----------
    theta : Mixture
    reg_covar : float or None, default 1e-6
        The regularisation the fit used (a fitted model's ``reg_covar_``). ``None``, the
        estimator's unset ``reg_covar``, is read as 1e-6, its value without a prior.

    Returns
    -------
    bool
    """
    if reg_covar is None:
        reg_covar = 1e-6
    spread = mixture_spread(theta, reg_covar)
    return bool(np.any(relative_variances(theta, spread, reg_covar) <= DEGENERATE_RTOL))
