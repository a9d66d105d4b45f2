"""The four covariance types, each in one home.

A covariance type decides how the covariance matrices of the ``K`` components are
parametrised. Everything that depends on that choice lives in one class here: the shape of
the parameters, the number of free parameters, the M-step estimate :eq:`mstep-covariances`
from the sufficient statistics :eq:`sufficient-statistics`, the Cholesky factor of the
precision, the log-determinant, and the squared Mahalanobis distance that enters the
Gaussian log-density :eq:`log-gaussian`. Adding a type means adding one class.

=============  ==================  ==========================================
type           ``covariances``     meaning
=============  ==================  ==========================================
``full``       ``(K, D, D)``       each component its own matrix
``tied``       ``(D, D)``          one matrix shared by all components
``diag``       ``(K, D)``          each component a diagonal matrix
``spherical``  ``(K,)``            each component a multiple of the identity
=============  ==================  ==========================================

The precision Cholesky factor ``P`` follows scikit-learn's convention: the precision is
``P @ P.T`` and ``P = L^{-T}`` where ``Sigma = L @ L.T``. Then
``(x - mu)^T Sigma^{-1} (x - mu) = ||(x - mu)^T P||^2`` and ``-1/2 ln|Sigma| = sum ln diag(P)``:
neither the inverse of ``Sigma`` nor its determinant is ever formed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CovarianceType", "COVARIANCE_TYPES", "get_covariance_type"]


def _collapse_message(component: str) -> str:
    return (
        f"The covariance of {component} is not positive definite. During EM this means the "
        "component has collapsed onto too few points (the singularity of the "
        "log-likelihood, chapter 3): increase reg_covar, use fewer components, or scale the "
        "input data. For given parameters: pass a symmetric positive definite matrix."
    )


def _full_precision_cholesky(covariances: np.ndarray, labels) -> np.ndarray:
    """``(M, D, D)`` covariances -> ``(M, D, D)`` upper-triangular precision factors."""
    n_features = covariances.shape[-1]
    identity = np.eye(n_features)
    factors = np.empty_like(covariances)
    for index, covariance in enumerate(covariances):
        try:
            lower = np.linalg.cholesky(covariance)
        except np.linalg.LinAlgError:
            raise ValueError(_collapse_message(labels(index))) from None
        # Triangular solve L^{-1}; transposed it is the precision factor P = L^{-T}.
        factors[index] = np.linalg.solve(lower, identity).T
    return factors


#: Directions in which the data's spread is below this fraction of the reference (the spread
#: plus the floor) are left out of :meth:`CovarianceType.relative_variances`: there the data
#: are as good as constant, and no component can collapse relative to them.
_NEGLIGIBLE_SPREAD = 1e-3


def _no_spread(n_components, floor):
    # The data are one repeated point. With the floor taken off, every component has no
    # variance at all (0 / 0, taken as 0: degenerate); with it, a positive variance against
    # none (infinite: nothing left to collapse).
    return np.full(n_components, 0.0 if floor > 0 else np.inf)


def _relative_variances_full(covariances, spread, floor):
    """``min_v v^T (Sigma_m - floor I) v / v^T S v`` for ``(M, D, D)`` covariances, over the
    directions in which ``S`` is not negligible, shape ``(M,)``.

    Both matrices are whitened by ``R = S + floor I`` (plus a jitter of ``1e-10`` of each
    feature's own spread, so that ``R`` is positive definite): then the data's spread has
    eigenvalues in ``[0, 1)`` and the generalised eigenproblem is well scaled whatever the
    units of the features."""
    D = spread.shape[0]
    diagonal = np.diag(spread).copy()
    jitter = np.where(diagonal > 0, 1e-10 * diagonal, 1.0 if floor == 0 else 0.0)
    reference = spread + np.diag(floor + jitter)
    lower = np.linalg.cholesky(reference)
    whiten = np.linalg.solve(lower, np.eye(D))  # L^{-1}
    data = whiten @ spread @ whiten.T
    eigenvalues, vectors = np.linalg.eigh(0.5 * (data + data.T))
    kept = eigenvalues > _NEGLIGIBLE_SPREAD
    if not np.any(kept):
        return _no_spread(covariances.shape[0], floor)
    basis = whiten.T @ (vectors[:, kept] / np.sqrt(eigenvalues[kept]))
    own = covariances - floor * np.eye(D)
    projected = basis.T @ own @ basis
    return np.linalg.eigvalsh(0.5 * (projected + projected.transpose(0, 2, 1)))[:, 0]


def _relative_variances_diagonal(variances, spread, floor):
    """``min_d (sigma_md^2 - floor) / S_d`` for ``(M, D)`` variances, over the features in
    which the data spread, shape ``(M,)``."""
    kept = (spread > _NEGLIGIBLE_SPREAD * (spread + floor)) & (spread > 0)
    if not np.any(kept):
        return _no_spread(variances.shape[0], floor)
    return np.min((variances[:, kept] - floor) / spread[kept], axis=1)


class CovarianceType:
    """Interface of a covariance type. Subclasses implement every method."""

    name: str = ""

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """The shape of ``covariances`` for this type."""
        raise NotImplementedError

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Number of free parameters in the covariances (part of :eq:`n-parameters`)."""
        raise NotImplementedError

    def estimate(self, statistics, means: np.ndarray, reg_covar: float) -> np.ndarray:
        """Covariances about ``means`` from sufficient statistics, eq. :eq:`mstep-covariances`.

        ``statistics`` is a :class:`gmm.mstep.SufficientStatistics` of this type;
        ``means`` has shape ``(K, D)``; ``reg_covar`` is added to the diagonal.
        """
        raise NotImplementedError

    def precisions_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        """Cholesky factors of the precisions, same shape as ``covariances``.

        Raises ValueError naming the component whose covariance is not positive definite.
        """
        raise NotImplementedError

    def log_det_precisions_cholesky(self, precisions_cholesky, n_features: int) -> np.ndarray:
        """``sum ln diag(P_k)`` = ``-1/2 ln|Sigma_k|``, shape ``(K,)`` (a scalar for tied)."""
        raise NotImplementedError

    def squared_mahalanobis(self, X, means, precisions_cholesky) -> np.ndarray:
        """``(x_n - mu_k)^T Sigma_k^{-1} (x_n - mu_k)``, shape ``(N, K)``."""
        raise NotImplementedError

    def to_full(self, covariances: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """Every component's ``(D, D)`` matrix, shape ``(K, D, D)``."""
        raise NotImplementedError

    def precisions(self, precisions_cholesky: np.ndarray) -> np.ndarray:
        """The precision matrices ``Sigma^{-1}`` in this type's layout."""
        raise NotImplementedError

    def smallest_pivots(self, precisions_cholesky: np.ndarray, n_components: int) -> np.ndarray:
        """Each component's smallest Cholesky pivot ``L_ii^2`` of ``Sigma_k = L L^T`` (for the
        diagonal types, its smallest variance), shape ``(K,)``. No eigenvalue is smaller than
        a pivot's lower bound of the spread: a pivot at rounding level means the component
        has collapsed."""
        raise NotImplementedError

    def covariances_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Invert user-given precisions (used for ``precisions_init``)."""
        raise NotImplementedError

    def spread_layout(self, matrix: np.ndarray) -> np.ndarray:
        """A ``(D, D)`` covariance of the data in the layout this type compares its
        components with (:meth:`relative_variances`): the matrix, or its diagonal."""
        return np.array(matrix)

    def pooled_second_moments(self, second_moments: np.ndarray) -> np.ndarray:
        """The second moments of this type's statistics summed over components, in the
        layout of :meth:`spread_layout` (responsibilities sum to one over the components,
        so this is the data's own scatter)."""
        return second_moments.sum(axis=0)

    def relative_variances(self, covariances: np.ndarray, spread: np.ndarray,
                           floor: float) -> np.ndarray:
        """Each component's smallest variance less ``floor``, relative to the data's
        ``spread`` in the same direction, shape ``(K,)`` (see
        :func:`gmm.criteria.relative_variances`)."""
        raise NotImplementedError

    def check(self, covariances: np.ndarray, n_components: int, n_features: int, name: str):
        """Raise ValueError unless ``covariances`` has the right shape and is symmetric
        positive definite."""
        self.check_layout(covariances, n_components, n_features, name)
        try:
            self.precisions_cholesky(covariances)
        except ValueError:
            raise ValueError(f"{name} {self._not_positive_definite}.") from None

    _not_positive_definite = "is not positive definite"

    def check_layout(self, covariances: np.ndarray, n_components: int, n_features: int,
                     name: str):
        """Raise ValueError unless ``covariances`` has the right shape, is finite and (for
        matrices) symmetric. Positive definiteness is left to :meth:`precisions_cholesky`."""
        expected = self.shape(n_components, n_features)
        if covariances.shape != expected:
            raise ValueError(
                f"{name} for covariance_type={self.name!r} must have shape {expected} "
                f"(n_components={n_components}, n_features={n_features}); got "
                f"{covariances.shape}."
            )
        if not np.all(np.isfinite(covariances)):
            raise ValueError(f"{name} contains NaN or infinity.")

    def check_precisions(self, precisions: np.ndarray, n_components: int, n_features: int,
                         name: str = "precisions"):
        """Raise ValueError unless ``precisions`` has the right shape and is symmetric
        positive definite."""
        self.check_layout(precisions, n_components, n_features, name)
        try:
            self.precisions_cholesky(precisions)
        except ValueError:
            raise ValueError(
                f"{name} must be symmetric positive definite (the inverse of a covariance); "
                "it is not."
            ) from None

    def __repr__(self) -> str:
        return f"<covariance type {self.name!r}>"


class FullCovariance(CovarianceType):
    """Each component has its own symmetric positive definite ``(D, D)`` matrix."""

    name = "full"

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def estimate(self, statistics, means, reg_covar):
        counts = statistics.counts[:, None]
        centred_means = statistics.centred_sums / counts
        offsets = means - statistics.shift
        covariances = (
            statistics.centred_second_moments / counts[:, :, None]
            - centred_means[:, :, None] * offsets[:, None, :]
            - offsets[:, :, None] * centred_means[:, None, :]
            + offsets[:, :, None] * offsets[:, None, :]
        )
        # Symmetric by construction in exact arithmetic; make it so in floating point.
        covariances = 0.5 * (covariances + covariances.transpose(0, 2, 1))
        diagonal = np.arange(means.shape[1])
        covariances[:, diagonal, diagonal] += reg_covar
        return covariances

    def precisions_cholesky(self, covariances):
        return _full_precision_cholesky(covariances, lambda k: f"component {k}")

    def log_det_precisions_cholesky(self, precisions_cholesky, n_features):
        return np.sum(np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)), axis=1)

    def squared_mahalanobis(self, X, means, precisions_cholesky):
        distances = np.empty((X.shape[0], means.shape[0]))
        for k, (mean, factor) in enumerate(zip(means, precisions_cholesky, strict=True)):
            y = (X - mean) @ factor
            distances[:, k] = np.einsum("nd,nd->n", y, y)
        return distances

    def to_full(self, covariances, n_components, n_features):
        return covariances.copy()

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ precisions_cholesky.transpose(0, 2, 1)

    def smallest_pivots(self, precisions_cholesky, n_components):
        # diag(P) = 1 / diag(L) because P = L^{-T} is triangular.
        return 1.0 / np.max(np.diagonal(precisions_cholesky, axis1=1, axis2=2), axis=1) ** 2

    def covariances_from_precisions(self, precisions):
        return np.linalg.inv(precisions)

    def relative_variances(self, covariances, spread, floor):
        return _relative_variances_full(covariances, spread, floor)

    def check_layout(self, covariances, n_components, n_features, name):
        super().check_layout(covariances, n_components, n_features, name)
        # Positive definiteness is checked by the Cholesky factorisation that follows.
        asymmetric = ~np.all(
            np.isclose(covariances, covariances.transpose(0, 2, 1), rtol=1e-10, atol=1e-12),
            axis=(1, 2),
        )
        if np.any(asymmetric):
            raise ValueError(f"{name}[{int(np.argmax(asymmetric))}] is not symmetric.")


class TiedCovariance(CovarianceType):
    """All components share one symmetric positive definite ``(D, D)`` matrix."""

    name = "tied"

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def n_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def estimate(self, statistics, means, reg_covar):
        counts = statistics.counts[:, None]
        centred_means = statistics.centred_sums / counts
        offsets = means - statistics.shift
        # sum_k N_k [ m_k a_k^T + a_k m_k^T - a_k a_k^T ]: the part of the scatter about the
        # shift that the component means explain; with a_k = m_k it is sum_k N_k m_k m_k^T.
        explained = (
            (counts * centred_means).T @ offsets
            + (counts * offsets).T @ centred_means
            - (counts * offsets).T @ offsets
        )
        covariance = (statistics.centred_second_moments - explained) / statistics.n_samples
        covariance = 0.5 * (covariance + covariance.T)
        covariance.flat[:: means.shape[1] + 1] += reg_covar
        return covariance

    def precisions_cholesky(self, covariances):
        return _full_precision_cholesky(covariances[None], lambda k: "the tied covariance")[0]

    def log_det_precisions_cholesky(self, precisions_cholesky, n_features):
        return np.sum(np.log(np.diagonal(precisions_cholesky)))

    def squared_mahalanobis(self, X, means, precisions_cholesky):
        y = X @ precisions_cholesky
        centres = means @ precisions_cholesky
        distances = np.empty((X.shape[0], means.shape[0]))
        for k, centre in enumerate(centres):
            difference = y - centre
            distances[:, k] = np.einsum("nd,nd->n", difference, difference)
        return distances

    def to_full(self, covariances, n_components, n_features):
        return np.repeat(covariances[None], n_components, axis=0)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ precisions_cholesky.T

    def smallest_pivots(self, precisions_cholesky, n_components):
        return np.full(n_components, 1.0 / np.max(np.diagonal(precisions_cholesky)) ** 2)

    def covariances_from_precisions(self, precisions):
        return np.linalg.inv(precisions)

    def pooled_second_moments(self, second_moments):
        return np.array(second_moments)  # already summed over components

    def relative_variances(self, covariances, spread, floor):
        return _relative_variances_full(covariances[None], spread, floor)

    def check_layout(self, covariances, n_components, n_features, name):
        super().check_layout(covariances, n_components, n_features, name)
        if not np.allclose(covariances, covariances.T, rtol=1e-10, atol=1e-12):
            raise ValueError(f"{name} is not symmetric.")


class DiagCovariance(CovarianceType):
    """Each component has a diagonal matrix, stored as its ``D`` variances."""

    name = "diag"

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features

    def estimate(self, statistics, means, reg_covar):
        counts = statistics.counts[:, None]
        centred_means = statistics.centred_sums / counts
        offsets = means - statistics.shift
        variances = (
            statistics.centred_second_moments / counts
            - 2.0 * offsets * centred_means
            + offsets**2
        )
        return variances + reg_covar

    def precisions_cholesky(self, covariances):
        for k, variances in enumerate(covariances):
            if np.any(variances <= 0):
                raise ValueError(_collapse_message(f"component {k}"))
        return 1.0 / np.sqrt(covariances)

    def log_det_precisions_cholesky(self, precisions_cholesky, n_features):
        return np.sum(np.log(precisions_cholesky), axis=1)

    def squared_mahalanobis(self, X, means, precisions_cholesky):
        distances = np.empty((X.shape[0], means.shape[0]))
        for k, (mean, factor) in enumerate(zip(means, precisions_cholesky, strict=True)):
            y = (X - mean) * factor
            distances[:, k] = np.einsum("nd,nd->n", y, y)
        return distances

    def to_full(self, covariances, n_components, n_features):
        return np.stack([np.diag(variances) for variances in covariances])

    def precisions(self, precisions_cholesky):
        return precisions_cholesky**2

    def smallest_pivots(self, precisions_cholesky, n_components):
        return 1.0 / np.max(precisions_cholesky, axis=1) ** 2

    def covariances_from_precisions(self, precisions):
        return 1.0 / precisions

    def spread_layout(self, matrix):
        return np.diagonal(matrix).copy()

    def relative_variances(self, covariances, spread, floor):
        return _relative_variances_diagonal(covariances, spread, floor)

    _not_positive_definite = "must be positive (they are variances)"


class SphericalCovariance(CovarianceType):
    """Each component has a multiple of the identity, stored as one variance."""

    name = "spherical"

    def shape(self, n_components, n_features):
        return (n_components,)

    def n_parameters(self, n_components, n_features):
        return n_components

    def estimate(self, statistics, means, reg_covar):
        return DiagCovariance.estimate(self, statistics, means, reg_covar).mean(axis=1)

    def precisions_cholesky(self, covariances):
        for k, variance in enumerate(covariances):
            if variance <= 0:
                raise ValueError(_collapse_message(f"component {k}"))
        return 1.0 / np.sqrt(covariances)

    def log_det_precisions_cholesky(self, precisions_cholesky, n_features):
        return n_features * np.log(precisions_cholesky)

    def squared_mahalanobis(self, X, means, precisions_cholesky):
        distances = np.empty((X.shape[0], means.shape[0]))
        for k, mean in enumerate(means):
            difference = X - mean
            distances[:, k] = np.einsum("nd,nd->n", difference, difference)
        return distances * precisions_cholesky**2

    def to_full(self, covariances, n_components, n_features):
        return covariances[:, None, None] * np.eye(n_features)[None]

    def precisions(self, precisions_cholesky):
        return precisions_cholesky**2

    def smallest_pivots(self, precisions_cholesky, n_components):
        return 1.0 / precisions_cholesky**2

    def covariances_from_precisions(self, precisions):
        return 1.0 / precisions

    def spread_layout(self, matrix):
        return np.diagonal(matrix).copy()

    def relative_variances(self, covariances, spread, floor):
        # v^T S v is at most the largest eigenvalue of S; its largest diagonal entry stands
        # for it (statistics of this type keep only the diagonal).
        largest = np.max(spread, keepdims=True)
        return _relative_variances_diagonal(covariances[:, None], largest, floor)

    _not_positive_definite = "must be positive (they are variances)"


COVARIANCE_TYPES: dict[str, CovarianceType] = {
    kind.name: kind()
    for kind in (FullCovariance, TiedCovariance, DiagCovariance, SphericalCovariance)
}


def get_covariance_type(name) -> CovarianceType:
    """The :class:`CovarianceType` called ``name`` (``full``, ``tied``, ``diag``, ``spherical``)."""
    if isinstance(name, CovarianceType):
        return name
    try:
        return COVARIANCE_TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown covariance_type {name!r}; choose one of {sorted(COVARIANCE_TYPES)}."
        ) from None
