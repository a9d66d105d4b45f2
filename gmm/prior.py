"""Conjugate priors and the MAP M-step (chapter 8).

With a prior ``p(theta)`` EM maximises the log posterior ``ln p(X | theta) + ln p(theta)``
(eq. :eq:`map-objective`) instead of the log-likelihood. The E-step is unchanged; the M-step
maximises ``Q(theta, theta_old) + ln p(theta)`` (eq. :eq:`map-q`). For the conjugate prior
below that maximiser is the maximum-likelihood update with pseudo-counts added to the same
sufficient statistics (eqs. :eq:`map-weights`, :eq:`map-means`, :eq:`map-covariances`), so
it costs nothing in the fast engine.

The prior, one factor per parameter block:

- weights: a Dirichlet ``Dir(pi | alpha)``; ``alpha_k = 1`` for every ``k`` is the uniform
  density, i.e. no prior on the weights;
- ``full``: for every component a normal-inverse-Wishart
  ``N(mu_k | m_0, Sigma_k / kappa_0) IW(Sigma_k | Psi_0, nu_0)``;
- ``tied``: one ``IW(Sigma | Psi_0, nu_0)`` for the shared covariance and
  ``N(mu_k | m_0, Sigma / kappa_0)`` for every mean;
- ``diag``: for every variance ``sigma_kd^2`` an inverse gamma
  ``IG(nu_0 / 2, psi_0d / 2)`` (the one-dimensional ``IW(psi_0d, nu_0)``) and
  ``N(mu_kd | m_0d, sigma_kd^2 / kappa_0)``;
- ``spherical``: for the one variance ``sigma_k^2`` of every component
  ``IG(nu_0 / 2, psi_0 / 2)`` and ``N(mu_k | m_0, sigma_k^2 I / kappa_0)``.

``IW(Sigma | Psi, nu)`` has density
``|Psi|^(nu/2) / (2^(nu D/2) Gamma_D(nu/2)) |Sigma|^(-(nu+D+1)/2) exp(-tr(Psi Sigma^-1)/2)``
(the Wishart of Bishop 2006, sec. 2.3.6, on the precision ``Lambda = Sigma^-1`` with
``W = Psi^-1``), so that ``Psi`` acts as a prior scatter of ``nu`` pseudo-points.

``prior="default"`` is R mclust's ``defaultPrior`` (Fraley and Raftery 2007, "Multivariate
prior hyperparameters"; mclust's documentation of ``priorControl`` and ``defaultPrior``): see
:meth:`ConjugatePrior.default`.

This module needs only numpy and the standard library.
"""

from __future__ import annotations

import dataclasses
import math
from numbers import Real

import numpy as np

from ._validation import as_data, as_sample_weight, check_positive_int
from .covariance import COVARIANCE_TYPES, get_covariance_type
from .mixture import Mixture

__all__ = [
    "ConjugatePrior",
    "resolve_prior",
    "default_reg_covar",
    "map_weights",
    "map_means",
    "map_covariances",
    "log_prior",
]

#: ``reg_covar`` when the user gives none: maximum likelihood needs a floor on the
#: variances; the posterior mode of a proper prior is bounded below already.
REG_COVAR_WITHOUT_PRIOR = 1e-6

_LOG_2PI = math.log(2.0 * math.pi)


def _finite_real(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}.")
    return float(value)


def _frozen(array) -> np.ndarray:
    array = np.array(array, dtype=np.float64, copy=True)
    array.flags.writeable = False
    return array


@dataclasses.dataclass(frozen=True, eq=False)
class ConjugatePrior:
    """The conjugate prior of a Gaussian mixture of one covariance type, eq. :eq:`map-prior`.

    Parameters
    ----------
    mean : array_like, shape (D,)
        ``m_0``, the prior mean of every component mean.
    shrinkage : float
        ``kappa_0 >= 0``: the prior mean counts as ``kappa_0`` points (0: a flat prior on
        the means).
    dof : float
        ``nu_0``, the degrees of freedom of the inverse Wishart (inverse gamma: shape
        ``nu_0 / 2``). Must keep the pseudo-count of the covariance update non-negative:
        ``nu_0 >= -(D + 2)`` (``diag``: ``nu_0 >= -3``; ``tied``: ``nu_0 >= -(D + 1 + K)``);
        equality is the flat limit.
    scale : array_like
        ``Psi_0``: ``(D, D)`` symmetric positive semi-definite for ``full`` and ``tied``
        (a number ``s`` means ``s I``); ``(D,)`` non-negative for ``diag`` (a number is used
        for every feature); a non-negative number for ``spherical``.
    covariance_type : {"full", "tied", "diag", "spherical"}
    alpha : float or array_like of shape (K,), default 1.0
        The Dirichlet parameters ``alpha_k > 0`` of the weights; 1 is no prior on them.

    Notes
    -----
    The prior is proper when ``kappa_0 > 0``, ``Psi_0`` is positive definite and
    ``nu_0 > D - 1`` (``full``, ``tied``) or ``nu_0 > 0`` (``diag``, ``spherical``). An
    improper prior (such as the flat limit ``kappa_0 = 0``, ``Psi_0 = 0`` and
    ``nu_0 = -(D + 2)``, for ``diag`` ``-3``, for ``tied`` ``-(D + 1 + K)``, that gives back
    maximum likelihood, eq. :eq:`map-flat-limit`) still has a well-defined M-step;
    :func:`log_prior` then returns the log of the unnormalised density.
    """

    mean: np.ndarray
    shrinkage: float
    dof: float
    scale: np.ndarray
    covariance_type: str = "full"
    alpha: float | np.ndarray = 1.0

    def __post_init__(self):
        kind = get_covariance_type(self.covariance_type)
        mean = _frozen(self.mean)
        if mean.ndim != 1 or mean.size == 0 or not np.all(np.isfinite(mean)):
            raise ValueError(
                f"The prior mean must be a finite 1-D array of shape (n_features,); got "
                f"shape {mean.shape}."
            )
        D = mean.size
        shrinkage = _finite_real(self.shrinkage, "shrinkage")
        if shrinkage < 0:
            raise ValueError(f"shrinkage (kappa_0) must be >= 0; got {shrinkage}.")
        dof = _finite_real(self.dof, "dof")
        # tied: the least dof depends on K and is checked by check_components.
        least = {"diag": -3.0, "tied": -np.inf}.get(kind.name, -(D + 2.0))
        if dof < least:
            raise ValueError(
                f"dof (nu_0) must be at least {least:g} for covariance_type={kind.name!r} with "
                f"{D} features, so that the covariance update has a positive denominator "
                f"(equality is the flat limit, maximum likelihood); got {dof}. mclust's "
                f"default is D + 2 = {D + 2}."
            )
        scale = self._checked_scale(kind.name, D)
        alpha = np.array(self.alpha, dtype=np.float64)
        if alpha.ndim > 1 or not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
            raise ValueError(
                "alpha must be a positive number or a 1-D array of positive numbers (one "
                f"per component); got {self.alpha!r}."
            )
        alpha = float(alpha) if alpha.ndim == 0 else _frozen(alpha)
        for name, value in (("covariance_type", kind.name), ("mean", mean),
                            ("shrinkage", shrinkage), ("dof", dof), ("scale", scale),
                            ("alpha", alpha)):
            object.__setattr__(self, name, value)

    def _checked_scale(self, covariance_type, D):
        scale = np.array(self.scale, dtype=np.float64)
        if not np.all(np.isfinite(scale)):
            raise ValueError("The prior scale (Psi_0) contains NaN or infinity.")
        if covariance_type in ("full", "tied"):
            if scale.ndim == 0:
                scale = scale * np.eye(D)
            if scale.shape != (D, D):
                raise ValueError(
                    f"The prior scale (Psi_0) for covariance_type={covariance_type!r} must "
                    f"be a ({D}, {D}) matrix or a number; got shape {scale.shape}."
                )
            if not np.allclose(scale, scale.T, rtol=1e-10, atol=1e-12):
                raise ValueError("The prior scale (Psi_0) must be symmetric.")
            scale = 0.5 * (scale + scale.T)
            smallest = np.linalg.eigvalsh(scale)[0]
            if smallest < -1e-12 * max(1.0, abs(np.linalg.eigvalsh(scale)[-1])):
                raise ValueError(
                    "The prior scale (Psi_0) must be positive semi-definite; its smallest "
                    f"eigenvalue is {smallest:.3g}."
                )
        elif covariance_type == "diag":
            if scale.ndim == 0:
                scale = np.full(D, float(scale))
            if scale.shape != (D,) or np.any(scale < 0):
                raise ValueError(
                    f"The prior scale for covariance_type='diag' must be a non-negative "
                    f"number or {D} non-negative numbers (one per feature); got "
                    f"{self.scale!r}."
                )
        else:
            if scale.ndim != 0 or scale < 0:
                raise ValueError(
                    "The prior scale for covariance_type='spherical' must be one "
                    f"non-negative number; got {self.scale!r}."
                )
        return _frozen(scale)

    @property
    def n_features(self) -> int:
        """``D``."""
        return self.mean.size

    @property
    def is_proper(self) -> bool:
        """Whether the prior is a probability density (see the class notes)."""
        D = self.n_features
        if self.covariance_type in ("full", "tied"):
            scale_ok = np.linalg.eigvalsh(self.scale)[0] > 0
            dof_ok = self.dof > D - 1
        else:
            scale_ok = bool(np.all(self.scale > 0))
            dof_ok = self.dof > 0
        return bool(self.shrinkage > 0 and scale_ok and dof_ok)

    def check_components(self, n_components: int) -> None:
        """Raise ValueError unless the prior fits a mixture of ``n_components``.

        Parameters
        ----------
        n_components : int
            ``K``, the number of components of the mixture.

        Raises
        ------
        ValueError
            If ``alpha`` has not ``K`` entries, or (tied) ``dof`` is below ``-(D + 1 + K)``.
        """
        self.alphas(n_components)
        least = -(self.n_features + 1.0 + n_components)
        if self.covariance_type == "tied" and self.dof < least:
            raise ValueError(
                f"dof (nu_0) must be at least -(D + 1 + K) = {least:g} for a tied covariance, so "
                f"that its update has a positive denominator; got {self.dof}."
            )

    def alphas(self, n_components: int) -> np.ndarray:
        """``alpha_k`` for every component.

        Parameters
        ----------
        n_components : int
            ``K``, the number of components of the mixture.

        Returns
        -------
        ndarray, shape (K,)
            The Dirichlet parameters ``alpha_k`` (a scalar ``alpha`` repeated).

        Raises
        ------
        ValueError
            If ``alpha`` is an array without ``K`` entries.
        """
        if np.ndim(self.alpha) == 0:
            return np.full(n_components, float(self.alpha))
        if self.alpha.shape != (n_components,):
            raise ValueError(
                f"alpha has {self.alpha.size} entries, but the mixture has {n_components} "
                "components."
            )
        return np.array(self.alpha)

    @classmethod
    def default(cls, X, n_components: int, covariance_type: str = "full", *,
                shrinkage: float = 0.01, mean=None, dof=None, scale=None, alpha=1.0,
                sample_weight=None) -> ConjugatePrior:
        """R mclust's default prior, ``defaultPrior(data, G, modelName)``, eq.
        :eq:`default-prior`.

        Fraley and Raftery (2007), "Bayesian regularization for normal mixture estimation
        and model-based clustering", J. Classification 24:155-181, and mclust's
        documentation of ``priorControl`` and ``defaultPrior``:

        - prior mean ``m_0``: the mean of the data;
        - shrinkage ``kappa_0 = 0.01``;
        - degrees of freedom ``nu_0 = D + 2``;
        - scale, with ``f = (1 / K)^(2 / D)`` and ``var`` the sample variance (divisor
          ``N - 1``): ``full`` and ``tied`` (mclust's VVV and EEE) ``f cov(X)`` (when
          ``N <= D``, ``f diag(var(X))``); ``diag`` and ``spherical`` (VVI and VII) the
          number ``f sum_d var(x_d) / D``; in one dimension all four give mclust's
          univariate ``var(x) / K^2`` with ``nu_0 = 3``;
        - no prior on the weights (``alpha = 1``; mclust has none).

        The keyword arguments override single hyperparameters, as ``priorControl(...)``
        does. ``sample_weight`` counts point ``n`` ``w_n`` times (weighted mean, and
        variances with divisor ``sum_n w_n - 1``).

        Parameters
        ----------
        X : array_like, shape (N, D)
        n_components : int
        covariance_type : {"full", "tied", "diag", "spherical"}
        shrinkage, mean, dof, scale, alpha : optional overrides
        sample_weight : array_like, shape (N,), optional

        Returns
        -------
        ConjugatePrior
        """
        X = as_data(X)
        K = check_positive_int(n_components, "n_components")
        kind = get_covariance_type(covariance_type)
        N, D = X.shape
        weight = as_sample_weight(sample_weight, N)
        w = np.ones(N) if weight is None else weight
        total = w.sum()
        if total <= 1:
            raise ValueError("The default prior needs more than one point (its scale is "
                             "the sample covariance).")
        data_mean = w @ X / total
        centred = X - data_mean
        covariance = (centred * w[:, None]).T @ centred / (total - 1.0)
        factor = (1.0 / K) ** (2.0 / D)
        if scale is None:
            constant = np.flatnonzero(np.diag(covariance) <= 0)
            if constant.size:
                raise ValueError(
                    f"Feature {int(constant[0]) + 1} of X is constant, so the default "
                    "prior's scale (the sample covariance) is singular. Drop the feature, "
                    "or pass a positive definite scale."
                )
            if kind.name in ("full", "tied"):
                scale = factor * (covariance if N > D else np.diag(np.diag(covariance)))
                if np.linalg.eigvalsh(scale)[0] <= 1e-12 * np.linalg.eigvalsh(scale)[-1]:
                    raise ValueError(
                        "The features of X are linearly dependent, so the default prior's "
                        "scale (the sample covariance) is singular. Drop a dependent "
                        "feature, or pass a positive definite scale."
                    )
            else:
                scale = factor * np.trace(covariance) / D
        return cls(
            mean=data_mean if mean is None else mean,
            shrinkage=shrinkage,
            dof=D + 2.0 if dof is None else dof,
            scale=scale,
            covariance_type=kind.name,
            alpha=alpha,
        )


def resolve_prior(prior, X, n_components, covariance_type, sample_weight=None):
    """``None``, ``"default"`` (mclust's, from ``X``) or a :class:`ConjugatePrior`, checked
    against the mixture's covariance type, dimension and number of components."""
    if prior is None:
        return None
    kind = get_covariance_type(covariance_type)
    if isinstance(prior, str):
        if prior != "default":
            raise ValueError(
                f"prior must be None, 'default' or a gmm.ConjugatePrior; got {prior!r}."
            )
        return ConjugatePrior.default(X, n_components, kind.name, sample_weight=sample_weight)
    if not isinstance(prior, ConjugatePrior):
        raise ValueError(
            f"prior must be None, 'default' or a gmm.ConjugatePrior; got {type(prior)!r}."
        )
    if prior.covariance_type != kind.name:
        raise ValueError(
            f"The prior is for covariance_type={prior.covariance_type!r}, but the mixture "
            f"is {kind.name!r}. Build the prior for {kind.name!r}."
        )
    n_features = np.shape(X)[1]
    if prior.n_features != n_features:
        raise ValueError(
            f"The prior mean has {prior.n_features} features, but X has {n_features}."
        )
    prior.check_components(n_components)
    return prior


def default_reg_covar(reg_covar, prior):
    """``reg_covar`` as given, or (``None``) 1e-6 without a prior and 0 with one."""
    if reg_covar is None:
        return 0.0 if prior is not None else REG_COVAR_WITHOUT_PRIOR
    return reg_covar


# --- The MAP M-step on sufficient statistics -------------------------------------------------


def map_weights(statistics, prior: ConjugatePrior) -> np.ndarray:
    """``pi_k = (N_k + alpha_k - 1) / (N + sum_j (alpha_j - 1))``, eq. :eq:`map-weights`
    (the Lagrange step with the Dirichlet prior, ``lambda = N + sum_k (alpha_k - 1)``).

    Parameters
    ----------
    statistics : gmm.SufficientStatistics
    prior : ConjugatePrior

    Returns
    -------
    ndarray, shape (K,)

    Raises
    ------
    ValueError
        If some ``N_k + alpha_k - 1 < 0`` (only possible with ``alpha_k < 1``): the
        posterior density is then unbounded as ``pi_k -> 0`` and has no mode.
    """
    counts = statistics.counts
    pseudo = counts + prior.alphas(counts.size) - 1.0
    negative = np.flatnonzero(pseudo < 0)
    if negative.size:
        k = int(negative[0])
        raise ValueError(
            f"Component {k + 1} has N_k = {counts[k]:.3g} < 1 - alpha_k: with alpha_k < 1 "
            "the posterior density grows without bound as its weight goes to 0, so it has "
            "no mode. Use alpha >= 1, or fewer components."
        )
    return pseudo / pseudo.sum()


def map_means(statistics, prior: ConjugatePrior) -> np.ndarray:
    """``mu_k = (N_k xbar_k + kappa_0 m_0) / (N_k + kappa_0)``, eq. :eq:`map-means`: the
    data mean of the component shrunk towards the prior mean.

    Parameters
    ----------
    statistics : gmm.SufficientStatistics
    prior : ConjugatePrior

    Returns
    -------
    ndarray, shape (K, D)
    """
    # Floored counts: finite for an empty component with kappa_0 = 0, as in gmm.mstep.
    counts = statistics.floored_counts[:, None]
    # About the statistics' shift c: N_k xbar_k = centred_sums + N_k c.
    pull = prior.shrinkage * (prior.mean - statistics.shift)
    return statistics.shift + (statistics.centred_sums + pull) / (counts + prior.shrinkage)


def map_covariances(statistics, means, prior: ConjugatePrior, covariance_type=None,
                    reg_covar: float = 0.0) -> np.ndarray:
    """The posterior-mode covariances about ``means``, eq. :eq:`map-covariances`:
    ``Sigma_k = (Psi_0 + W_k + kappa_0 (mu_k - m_0)(mu_k - m_0)^T) / (nu_0 + N_k + D + 2)``
    for ``full``, with ``W_k`` the scatter about ``mu_k``; for the other types
    (eqs. :eq:`map-tied`, :eq:`map-diag`, :eq:`map-spherical`)

    - ``tied``: ``(Psi_0 + sum_k [W_k + kappa_0 (mu_k - m_0)(mu_k - m_0)^T])
      / (nu_0 + N + D + 1 + K)``;
    - ``diag``: ``(psi_0d + W_k,dd + kappa_0 (mu_kd - m_0d)^2) / (nu_0 + N_k + 3)``;
    - ``spherical``: ``(psi_0 + tr W_k + kappa_0 |mu_k - m_0|^2)
      / (nu_0 + (N_k + 1) D + 2)``.

    Parameters
    ----------
    statistics : gmm.SufficientStatistics
    means : array_like, shape (K, D)
        The new means (eq. :eq:`map-means`) in EM; held ones when the means are fixed.
    prior : ConjugatePrior
    covariance_type : str, optional
        Defaults to the statistics' type.
    reg_covar : float, default 0
        Added to the diagonal afterwards (not needed with a proper prior).

    Returns
    -------
    ndarray
        ``(K, D, D)`` full, ``(D, D)`` tied, ``(K, D)`` diag, ``(K,)`` spherical.
    """
    name = get_covariance_type(covariance_type or statistics.covariance_type).name
    means = np.asarray(means, dtype=np.float64)
    K, D = means.shape
    # The floored counts that the scatter estimates divide by (so multiplying back is exact,
    # and the flat limit stays finite for an empty component).
    counts = statistics.floored_counts
    offsets = means - prior.mean  # mu_k - m_0
    kappa, nu = prior.shrinkage, prior.dof
    if name in ("full", "tied"):
        ml = COVARIANCE_TYPES[name].estimate(statistics, means, 0.0)
        outer = offsets[:, :, None] * offsets[:, None, :]
        if name == "full":
            scatter = counts[:, None, None] * ml  # W_k about the given means
            numerator = prior.scale + scatter + kappa * outer
            covariances = numerator / (nu + counts + D + 2.0)[:, None, None]
            covariances = 0.5 * (covariances + covariances.transpose(0, 2, 1))
            diagonal = np.arange(D)
            covariances[:, diagonal, diagonal] += reg_covar
            return covariances
        scatter = statistics.n_samples * ml
        numerator = prior.scale + scatter + kappa * outer.sum(axis=0)
        covariance = numerator / (nu + statistics.n_samples + D + 1.0 + K)
        covariance = 0.5 * (covariance + covariance.T)
        covariance.flat[:: D + 1] += reg_covar
        return covariance
    # diag and spherical: per-feature scatter from the diagonal statistics.
    scatter = counts[:, None] * COVARIANCE_TYPES["diag"].estimate(statistics, means, 0.0)
    if name == "diag":
        numerator = prior.scale + scatter + kappa * offsets**2
        return numerator / (nu + counts + 3.0)[:, None] + reg_covar
    numerator = prior.scale + scatter.sum(axis=1) + kappa * np.sum(offsets**2, axis=1)
    return numerator / (nu + (counts + 1.0) * D + 2.0) + reg_covar


# --- The log prior density -------------------------------------------------------------------


def _log_multivariate_gamma(a: float, D: int) -> float:
    return 0.25 * D * (D - 1) * math.log(math.pi) + sum(
        math.lgamma(a + 0.5 * (1 - j)) for j in range(1, D + 1)
    )


def _log_dirichlet(weights, alpha) -> float:
    # (alpha_k - 1) ln pi_k is 0 for alpha_k = 1, also at pi_k = 0 (where the product that
    # np.where discards is 0 times -inf: no warning for it).
    with np.errstate(divide="ignore", invalid="ignore"):
        log_weights = np.log(weights)
        terms = np.where(alpha == 1.0, 0.0, (alpha - 1.0) * log_weights)
    normaliser = math.lgamma(alpha.sum()) - sum(math.lgamma(a) for a in alpha)
    return normaliser + float(terms.sum())


def log_prior(theta: Mixture, prior: ConjugatePrior) -> float:
    """``ln p(theta)`` under the conjugate prior, eq. :eq:`map-prior`.

    For a proper prior this is the normalised log density; for an improper one (see
    :class:`ConjugatePrior`) the log of the unnormalised density (the terms that depend on
    ``theta``), which is all that EM's monotonicity needs.

    Parameters
    ----------
    theta : Mixture
    prior : ConjugatePrior
        Of ``theta``'s covariance type and dimension.

    Returns
    -------
    float
    """
    if prior.covariance_type != theta.covariance_type:
        raise ValueError(
            f"The prior is for covariance_type={prior.covariance_type!r}, but theta is "
            f"{theta.covariance_type!r}."
        )
    K, D = theta.n_components, theta.n_features
    if prior.n_features != D:
        raise ValueError(f"The prior has {prior.n_features} features, theta has {D}.")
    kappa, nu = prior.shrinkage, prior.dof
    proper = prior.is_proper
    total = _log_dirichlet(np.asarray(theta.weights), prior.alphas(K))
    offsets = np.asarray(theta.means) - prior.mean
    factor = np.asarray(theta.precisions_cholesky)
    log_det_precision = 2.0 * theta.kind.log_det_precisions_cholesky(factor, D)
    precisions = theta.precisions
    name = theta.covariance_type
    if name in ("full", "tied"):
        blocks = precisions[None] if name == "tied" else precisions
        # IW: -(nu + D + 1)/2 ln|Sigma| - tr(Psi Lambda)/2, once per covariance.
        total += float(np.sum(0.5 * (nu + D + 1.0) * np.atleast_1d(log_det_precision)
                              - 0.5 * np.einsum("de,ked->k", prior.scale, blocks)))
        # N(mu_k | m_0, Sigma_k / kappa): -ln|Sigma_k|/2 - kappa/2 (mu - m)^T Lambda (mu - m).
        each = np.broadcast_to(precisions, (K, D, D)) if name == "tied" else precisions
        quadratic = np.einsum("kd,kde,ke->k", offsets, each, offsets)
        log_det_each = np.broadcast_to(log_det_precision, (K,))
        total += float(np.sum(0.5 * log_det_each - 0.5 * kappa * quadratic))
        if proper:
            n_covariances = 1 if name == "tied" else K
            sign, log_det_scale = np.linalg.slogdet(prior.scale)
            total += n_covariances * (
                0.5 * nu * log_det_scale - 0.5 * nu * D * math.log(2.0)
                - _log_multivariate_gamma(0.5 * nu, D)
            )
            total += K * 0.5 * D * (math.log(kappa) - _LOG_2PI)
        return float(total)
    # diag and spherical: inverse gamma IG(nu/2, psi/2) on every variance.
    variances = np.asarray(theta.covariances)
    if name == "diag":
        psi = prior.scale[None, :]
        total += float(np.sum(
            -(0.5 * nu + 1.0) * np.log(variances) - 0.5 * psi / variances
            - 0.5 * np.log(variances) - 0.5 * kappa * offsets**2 / variances
        ))
        if proper:
            total += K * float(np.sum(0.5 * nu * np.log(0.5 * prior.scale)))
            total += K * D * (-math.lgamma(0.5 * nu) + 0.5 * (math.log(kappa) - _LOG_2PI))
        return float(total)
    psi = float(prior.scale)
    total += float(np.sum(
        -(0.5 * nu + 1.0) * np.log(variances) - 0.5 * psi / variances
        - 0.5 * D * np.log(variances)
        - 0.5 * kappa * np.sum(offsets**2, axis=1) / variances
    ))
    if proper:
        total += K * (0.5 * nu * math.log(0.5 * psi) - math.lgamma(0.5 * nu)
                      + 0.5 * D * (math.log(kappa) - _LOG_2PI))
    return float(total)
