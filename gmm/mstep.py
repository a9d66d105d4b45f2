"""The M-step on sufficient statistics (chapters 5 and 6).

The derivation shows that the new parameters depend on the data only through
``N_k = sum_n gamma(z_nk)``, ``sum_n gamma(z_nk) x_n`` and ``sum_n gamma(z_nk) x_n x_n^T``
(eq. :eq:`sufficient-statistics`). The M-step here is written on exactly those, so weighted,
streaming and distributed EM are the same code: statistics of two batches add.

Accuracy: second moments about the origin cancel catastrophically for data far from it
(``E[x^2] - E[x]^2`` with ``x ~ 1e6``). The statistics are therefore accumulated about a
shift ``c`` (the weighted mean of the data), which changes no formula:
``Sigma_k = S_k / N_k - m_k m_k^T`` with ``m_k`` and ``S_k`` taken about ``c``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._validation import as_data, as_sample_weight, check_non_negative_real
from .covariance import get_covariance_type
from .mixture import Mixture
from .prior import default_reg_covar, map_covariances, map_means, map_weights, resolve_prior

__all__ = [
    "SufficientStatistics",
    "sufficient_statistics",
    "mixing_weights",
    "means",
    "covariances",
    "m_step",
]

#: Relative to ``N``, added to every ``N_k`` where it divides, so that a component with no
#: responsibility gives finite updates (scikit-learn adds ``10 eps`` in absolute terms; a
#: floor relative to ``N`` keeps the fit independent of the scale of the sample weights).
COUNT_FLOOR_RTOL = 10 * np.finfo(np.float64).eps

_PARAMETERS = ("weights", "means", "covariances")


@dataclasses.dataclass(frozen=True)
class SufficientStatistics:
    """The sufficient statistics ``N_k``, ``sum_n gamma x_n``, ``sum_n gamma x_n x_n^T``,
    eq. :eq:`sufficient-statistics`.

    Stored about ``shift`` (``c``): ``centred_sums = sum_n gamma_nk (x_n - c)`` and
    ``centred_second_moments = sum_n gamma_nk (x_n - c)(x_n - c)^T`` (full: ``(K, D, D)``;
    tied: ``(D, D)`` summed over components; diag and spherical: the diagonal, ``(K, D)``).
    The properties ``sums`` and ``second_moments`` give the book's uncentred quantities.

    Attributes
    ----------
    counts : ndarray, shape (K,)
        ``N_k = sum_n w_n gamma(z_nk)`` (``w_n`` the sample weights, 1 by default).
    centred_sums : ndarray, shape (K, D)
    centred_second_moments : ndarray
    shift : ndarray, shape (D,)
    n_samples : float
        ``N = sum_n w_n``.
    covariance_type : str
    """

    counts: np.ndarray
    centred_sums: np.ndarray
    centred_second_moments: np.ndarray
    shift: np.ndarray
    n_samples: float
    covariance_type: str

    @property
    def floored_counts(self) -> np.ndarray:
        """``N_k + 10 eps N``: the counts the M-step divides by (finite for an empty
        component, and the same fit for sample weights ``c w`` as for ``w``)."""
        return self.counts + COUNT_FLOOR_RTOL * self.n_samples

    @property
    def kind(self):
        """The :class:`gmm.covariance.CovarianceType` whose layout the moments follow."""
        return get_covariance_type(self.covariance_type)

    @property
    def sums(self) -> np.ndarray:
        """``sum_n gamma(z_nk) x_n``, shape ``(K, D)``."""
        return self.centred_sums + self.counts[:, None] * self.shift

    @property
    def second_moments(self) -> np.ndarray:
        """``sum_n gamma(z_nk) x_n x_n^T`` in the covariance type's layout."""
        return self.kind.recentred_moments(
            self.centred_second_moments, self.centred_sums, self.counts, self.shift
        )

    def __add__(self, other: SufficientStatistics) -> SufficientStatistics:
        """Statistics of the union of two batches (re-centred on this batch's shift)."""
        if other.covariance_type != self.covariance_type:
            raise ValueError("Cannot add statistics of different covariance types.")
        delta = other.shift - self.shift  # (x - c1) = (x - c2) + delta
        moments = self.kind.recentred_moments(
            other.centred_second_moments, other.centred_sums, other.counts, delta
        )
        return SufficientStatistics(
            counts=self.counts + other.counts,
            centred_sums=self.centred_sums + other.centred_sums + other.counts[:, None] * delta,
            centred_second_moments=self.centred_second_moments + moments,
            shift=self.shift,
            n_samples=self.n_samples + other.n_samples,
            covariance_type=self.covariance_type,
        )


def _sufficient_statistics(X, resp, covariance_type, sample_weight, shift=None):
    weighted_resp = resp if sample_weight is None else resp * sample_weight[:, None]
    row_weight = weighted_resp.sum(axis=1)
    n_samples = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    if shift is None:
        total = row_weight.sum()
        if not total > 0:
            raise ValueError(
                "resp is zero for every point (and every component): the statistics, and "
                "the centre they are taken about, are undefined. Each row of resp should "
                "hold the responsibilities of one point, summing to one."
            )
        shift = (row_weight @ X) / total
    centred = X - shift
    counts = weighted_resp.sum(axis=0)
    sums = weighted_resp.T @ centred
    moments = get_covariance_type(covariance_type).second_moments_of(weighted_resp, centred)
    return SufficientStatistics(counts, sums, moments, shift, n_samples, covariance_type)


def sufficient_statistics(X, resp, covariance_type="full", sample_weight=None):
    """The sufficient statistics of the M-step, eq. :eq:`sufficient-statistics`.

    Parameters
    ----------
    X : array_like, shape (N, D)
    resp : array_like, shape (N, K)
        Responsibilities ``gamma(z_nk)`` (or any non-negative soft assignment).
    covariance_type : {"full", "tied", "diag", "spherical"}
        Decides the layout of the second moments.
    sample_weight : array_like, shape (N,), optional

    Returns
    -------
    SufficientStatistics
    """
    X = as_data(X)
    kind = get_covariance_type(covariance_type)
    try:
        resp = np.asarray(resp, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("resp must be a numeric array of shape (N, K).") from None
    if resp.ndim != 2 or resp.shape[0] != X.shape[0]:
        raise ValueError(
            f"resp must have shape ({X.shape[0]}, n_components); got {resp.shape}."
        )
    if not np.all(np.isfinite(resp)) or np.any(resp < 0):
        raise ValueError("resp must be finite and non-negative.")
    weight = as_sample_weight(sample_weight, X.shape[0])
    return _sufficient_statistics(X, resp, kind.name, weight)


def mixing_weights(statistics: SufficientStatistics) -> np.ndarray:
    """``pi_k = N_k / N``, eq. :eq:`mstep-weights` (the Lagrange step, ``lambda = N``).

    ``N`` is taken as ``sum_k N_k``, equal to the number of points (the sum of the sample
    weights) because every row of the responsibilities sums to one.

    Parameters
    ----------
    statistics : SufficientStatistics

    Returns
    -------
    ndarray, shape (K,)
    """
    return statistics.counts / statistics.counts.sum()


def means(statistics: SufficientStatistics) -> np.ndarray:
    """``mu_k = sum_n gamma(z_nk) x_n / N_k``, eq. :eq:`mstep-means`.

    Parameters
    ----------
    statistics : SufficientStatistics

    Returns
    -------
    ndarray, shape (K, D)
    """
    return statistics.shift + statistics.centred_sums / statistics.floored_counts[:, None]


def covariances(
    statistics: SufficientStatistics, means: np.ndarray, covariance_type=None, reg_covar=1e-6
) -> np.ndarray:
    """``Sigma_k = sum_n gamma(z_nk) (x_n - mu_k)(x_n - mu_k)^T / N_k + reg_covar I``,
    eq. :eq:`mstep-covariances`, about the given ``means`` (the new ones, eq. :eq:`mstep-means`,
    in EM; fixed ones when the means are held).

    Parameters
    ----------
    statistics : SufficientStatistics
    means : array_like, shape (K, D)
    covariance_type : str, optional
        Defaults to the statistics' type.
    reg_covar : float, default 1e-6
        Added to the diagonal, keeping every covariance positive definite.

    Returns
    -------
    ndarray
        ``(K, D, D)`` full, ``(D, D)`` tied, ``(K, D)`` diag, ``(K,)`` spherical.
    """
    kind = get_covariance_type(covariance_type or statistics.covariance_type)
    if kind.statistics_layout != statistics.kind.statistics_layout:
        raise ValueError(
            f"Statistics of type {statistics.covariance_type!r} cannot estimate "
            f"{kind.name!r} covariances."
        )
    reg_covar = check_non_negative_real(reg_covar, "reg_covar")
    return kind.estimate(statistics, np.asarray(means, dtype=np.float64), reg_covar)


def _parameters_from_statistics(statistics, reg_covar, fixed, current, prior=None):
    if prior is not None:  # the posterior mode, chapter 8
        return _map_parameters(statistics, reg_covar, fixed, current, prior)
    new_weights = current.weights if "weights" in fixed else mixing_weights(statistics)
    new_means = current.means if "means" in fixed else means(statistics)
    if "covariances" in fixed:
        new_covariances = current.covariances
    else:
        kind = get_covariance_type(statistics.covariance_type)
        # Mixture raises the ValueError that names a collapsed component (reg_covar = 0).
        new_covariances = kind.estimate(statistics, new_means, reg_covar)
    return Mixture(new_weights, new_means, new_covariances, statistics.covariance_type)


def _map_parameters(statistics, reg_covar, fixed, current, prior):
    new_weights = current.weights if "weights" in fixed else map_weights(statistics, prior)
    new_means = current.means if "means" in fixed else map_means(statistics, prior)
    if "covariances" in fixed:
        new_covariances = current.covariances
    else:
        new_covariances = map_covariances(statistics, new_means, prior,
                                          reg_covar=reg_covar)
    return Mixture(new_weights, new_means, new_covariances, statistics.covariance_type)


def starting_mixture(statistics, reg_covar, given=(None, None, None), prior=None) -> Mixture:
    """The start of EM: one M-step on the statistics of the initial responsibilities, the
    user's given weights, means or covariances taking the place of the estimated ones.

    The covariances are estimated about the means of those responsibilities, whatever means
    are given (scikit-learn's rule); with a prior, the posterior mode (chapter 8), which is
    well posed even for a start from one point per component.

    Parameters
    ----------
    statistics : SufficientStatistics
        Of the initial responsibilities (k-means, random, ...).
    reg_covar : float
    given : tuple of (ndarray or None)
        The user's ``(weights, means, covariances)``; None where to estimate.
    prior : ConjugatePrior, optional

    Returns
    -------
    Mixture
    """
    weights, given_means, covariances = given
    kind = get_covariance_type(statistics.covariance_type)
    if prior is None:
        estimated_means = means(statistics)
        if weights is None:
            weights = mixing_weights(statistics)
        if covariances is None:
            covariances = kind.estimate(statistics, estimated_means, reg_covar)
    else:
        estimated_means = map_means(statistics, prior)
        if weights is None:
            weights = map_weights(statistics, prior)
        if covariances is None:
            covariances = map_covariances(statistics, estimated_means, prior,
                                          reg_covar=reg_covar)
    return Mixture(weights, estimated_means if given_means is None else given_means,
                   covariances, kind.name)


def _check_fixed(fixed, current, covariance_type):
    fixed = frozenset([fixed] if isinstance(fixed, str) else fixed)
    unknown = fixed - set(_PARAMETERS)
    if unknown:
        raise ValueError(f"fixed may hold only {list(_PARAMETERS)}; got {sorted(unknown)}.")
    if fixed and current is None:
        raise ValueError("Holding parameters fixed needs their values: pass current=theta.")
    if current is not None and current.covariance_type != covariance_type:
        raise ValueError(
            f"current has covariance_type {current.covariance_type!r}, not {covariance_type!r}."
        )
    return fixed


def m_step(
    X,
    resp,
    covariance_type="full",
    reg_covar=None,
    sample_weight=None,
    fixed=(),
    current: Mixture | None = None,
    prior=None,
) -> Mixture:
    """The M-step: the ``theta`` that maximises ``Q(theta, theta_old)`` for the given
    responsibilities, eqs. :eq:`mstep-weights`, :eq:`mstep-means`, :eq:`mstep-covariances`.

    Parameters
    ----------
    X : array_like, shape (N, D)
    resp : array_like, shape (N, K)
        Responsibilities under ``theta_old``.
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float or None, default None
        Added to the diagonal of every covariance. ``None`` means 1e-6 without a prior and
        0 with one.
    sample_weight : array_like, shape (N,), optional
    fixed : iterable of {"weights", "means", "covariances"}
        Parameters held at their values in ``current`` while the others are updated. With
        the means held, the covariances are taken about the held means.
    current : Mixture, optional
        Needed when ``fixed`` is not empty.
    prior : None, "default" or ConjugatePrior, optional
        With a prior, the M-step is the maximiser of ``Q + ln p(theta)`` (chapter 8,
        eqs. :eq:`map-weights`, :eq:`map-means`, :eq:`map-covariances`); ``"default"``
        is mclust's default prior for ``X`` (:meth:`gmm.ConjugatePrior.default`).

    Returns
    -------
    Mixture
    """
    kind = get_covariance_type(covariance_type)
    fixed = _check_fixed(fixed, current, kind.name)
    X = as_data(X)
    prior = resolve_prior(prior, X, np.shape(resp)[-1], kind.name, sample_weight)
    reg_covar = check_non_negative_real(default_reg_covar(reg_covar, prior), "reg_covar")
    statistics = sufficient_statistics(X, resp, kind.name, sample_weight)
    empty = np.flatnonzero(statistics.counts <= 0)
    # With a prior an empty component is well defined: the prior mean and scale.
    if empty.size and prior is None and not {"means", "covariances"} <= fixed:
        k = int(empty[0])
        raise ValueError(
            f"Component {k + 1} has no responsibility (N_{k + 1} = 0: column {k} of resp is "
            "zero), so its mean and covariance are undefined. Remove the component, or hold "
            "its parameters with fixed=('means', 'covariances') and current=theta."
        )
    return _parameters_from_statistics(statistics, reg_covar, fixed, current, prior)
