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

from .exceptions import ComponentCollapseError

__all__ = ["CovarianceType", "COVARIANCE_TYPES", "get_covariance_type"]


def _collapse_message(component: str) -> str:
    return (
        f"The covariance of {component} is not positive definite. During EM this means the "
        "component has collapsed onto too few points (the singularity of the "
        "log-likelihood, chapter 3): increase reg_covar or use fewer components. For given "
        "parameters: pass a symmetric positive definite matrix."
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
            raise ComponentCollapseError(_collapse_message(labels(index)),
                                         component=index) from None
        # Triangular solve L^{-1}; transposed it is the precision factor P = L^{-T}.
        factors[index] = np.linalg.solve(lower, identity).T
    return factors


#: Directions in which the data's spread is below this fraction of the reference (the spread
#: plus the floor) are left out of :meth:`CovarianceType.relative_variances`: there the data
#: are as good as constant, and no component can collapse relative to them.
_NEGLIGIBLE_SPREAD = 1e-3


def _symmetry_tolerance(matrices, precision):
    """Relative and absolute tolerance of a symmetry check, following the precision the
    matrices were given in (float32 matrices are symmetric only to float32 rounding)."""
    eps = float(np.finfo(precision).eps)
    scale = float(np.max(np.abs(matrices))) if matrices.size else 1.0
    return max(1e-10, 1e3 * eps), max(1e-12, 1e3 * eps) * scale


def _estimate_preamble(statistics, means):
    """``N_k`` (with the floor that keeps an empty component finite, shape ``(K, 1)``), the
    means of the statistics about their shift ``c`` and the offsets ``mu_k - c``."""
    counts = statistics.floored_counts[:, None]
    return counts, statistics.centred_sums / counts, means - statistics.shift


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


def _surely_above_full(covariances, spread, rtol):
    """Whether ``Sigma_m - rtol S`` is positive definite for every one of the ``(M, D, D)``
    covariances (a Cholesky factorisation of each succeeds with finite factors). Then
    ``v^T Sigma_m v > rtol v^T S v`` for every ``v != 0``, so every relative variance
    (:func:`_relative_variances_full`, floor 0) is above ``rtol``. ``False`` decides
    nothing: the eigenvalues must then be computed. One batched Cholesky costs a small
    fraction of the eigendecompositions (44 of the 190 ms of an EM iteration at
    ``K = 16, D = 64`` went to those, for a data spread that the fit does not change)."""
    try:
        factors = np.linalg.cholesky(covariances - rtol * spread)
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.isfinite(factors)))


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
        """The shape of ``covariances`` for this type.

        Parameters
        ----------
        n_components : int
            ``K``.
        n_features : int
            ``D``.

        Returns
        -------
        tuple of int
            ``(K, D, D)`` full, ``(D, D)`` tied, ``(K, D)`` diag, ``(K,)`` spherical.
        """
        raise NotImplementedError

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Number of free parameters in the covariances (part of :eq:`n-parameters`).

        Parameters
        ----------
        n_components : int
            ``K``.
        n_features : int
            ``D``.

        Returns
        -------
        int
            ``K D (D + 1) / 2`` full, ``D (D + 1) / 2`` tied, ``K D`` diag, ``K`` spherical.
        """
        raise NotImplementedError

    def estimate(self, statistics, means: np.ndarray, reg_covar: float) -> np.ndarray:
        """Covariances about ``means`` from sufficient statistics, eq. :eq:`mstep-covariances`.

        Parameters
        ----------
        statistics : gmm.mstep.SufficientStatistics
            The sufficient statistics, in this type's layout.
        means : ndarray of shape (K, D)
            The means the covariances are taken about.
        reg_covar : float
            Added to the diagonal of every covariance.

        Returns
        -------
        ndarray
            The covariances in this type's layout (:meth:`shape`).
        """
        raise NotImplementedError

    def precisions_cholesky(self, covariances: np.ndarray) -> np.ndarray:
        """Cholesky factors of the precisions, same shape as ``covariances``.

        Parameters
        ----------
        covariances : ndarray
            Covariances in this type's layout (:meth:`shape`).

        Returns
        -------
        ndarray
            The factors ``P`` with ``P P^T = Sigma^{-1}``, same shape as ``covariances``.

        Raises
        ------
        gmm.exceptions.ComponentCollapseError
            (a ValueError) naming the component whose covariance is not positive definite.
        """
        raise NotImplementedError

    def log_det_precisions_cholesky(self, precisions_cholesky, n_features: int) -> np.ndarray:
        """``sum ln diag(P_k)`` = ``-1/2 ln|Sigma_k|``.

        Parameters
        ----------
        precisions_cholesky : ndarray
            The precision Cholesky factors in this type's layout (:meth:`shape`).
        n_features : int
            ``D``.

        Returns
        -------
        ndarray of shape (K,) or float
            One value per component (a scalar for tied).
        """
        raise NotImplementedError

    def squared_mahalanobis(self, X, means, precisions_cholesky) -> np.ndarray:
        """``(x_n - mu_k)^T Sigma_k^{-1} (x_n - mu_k)``.

        Parameters
        ----------
        X : ndarray of shape (N, D)
            The data.
        means : ndarray of shape (K, D)
            The component means.
        precisions_cholesky : ndarray
            The precision Cholesky factors in this type's layout (:meth:`shape`).

        Returns
        -------
        ndarray of shape (N, K)
            The squared Mahalanobis distance of every point to every component.
        """
        raise NotImplementedError

    def to_full(self, covariances: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """Every component's ``(D, D)`` matrix.

        Parameters
        ----------
        covariances : ndarray
            Covariances in this type's layout (:meth:`shape`).
        n_components : int
            ``K``.
        n_features : int
            ``D``.

        Returns
        -------
        ndarray of shape (K, D, D)
            The covariance matrices (tied: the shared one repeated; diagonal types: as
            diagonal matrices).
        """
        raise NotImplementedError

    def precisions(self, precisions_cholesky: np.ndarray) -> np.ndarray:
        """The precision matrices ``Sigma^{-1}`` in this type's layout.

        Parameters
        ----------
        precisions_cholesky : ndarray
            The precision Cholesky factors in this type's layout (:meth:`shape`).

        Returns
        -------
        ndarray
            ``P P^T`` (diagonal types: ``P^2``), same shape as ``precisions_cholesky``.
        """
        raise NotImplementedError

    def smallest_pivots(self, precisions_cholesky: np.ndarray, n_components: int) -> np.ndarray:
        """Each component's smallest Cholesky pivot ``L_ii^2`` of ``Sigma_k = L L^T`` (for the
        diagonal types, its smallest variance), shape ``(K,)``. No eigenvalue is smaller than
        a pivot's lower bound of the spread: a pivot at rounding level means the component
        has collapsed.

        Parameters
        ----------
        precisions_cholesky : ndarray
            The precision Cholesky factors in this type's layout (:meth:`shape`).
        n_components : int
            ``K``.

        Returns
        -------
        ndarray of shape (K,)
            The smallest pivot of every component (tied: the shared one repeated).
        """
        raise NotImplementedError

    def covariances_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Invert user-given precisions (used for ``precisions_init``).

        Parameters
        ----------
        precisions : ndarray
            Precisions ``Sigma^{-1}`` in this type's layout (:meth:`shape`).

        Returns
        -------
        ndarray
            The covariances ``Sigma``, same shape.
        """
        raise NotImplementedError

    def spread_layout(self, matrix: np.ndarray) -> np.ndarray:
        """A ``(D, D)`` covariance of the data in the layout this type compares its
        components with (:meth:`relative_variances`): the matrix, or its diagonal.

        Parameters
        ----------
        matrix : ndarray of shape (D, D)
            A covariance of the data.

        Returns
        -------
        ndarray of shape (D, D) or (D,)
            The matrix (full, tied) or its diagonal (diag, spherical).
        """
        return np.array(matrix)

    def pooled_second_moments(self, second_moments: np.ndarray) -> np.ndarray:
        """The second moments of this type's statistics summed over components, in the
        layout of :meth:`spread_layout` (responsibilities sum to one over the components,
        so this is the data's own scatter).

        Parameters
        ----------
        second_moments : ndarray
            Second moments in :attr:`statistics_layout`.

        Returns
        -------
        ndarray of shape (D, D) or (D,)
            Their sum over components (tied: already summed, returned as it is).
        """
        return second_moments.sum(axis=0)

    def relative_variances(self, covariances: np.ndarray, spread: np.ndarray,
                           floor: float) -> np.ndarray:
        """Each component's smallest variance less ``floor``, relative to the data's
        ``spread`` in the same direction.

        The minimum of ``v^T (Sigma_k - floor I) v / v^T S v`` over the directions ``v`` in
        which the data spread (those of negligible spread are left out).

        Parameters
        ----------
        covariances : ndarray
            Covariances in this type's layout (:meth:`shape`).
        spread : ndarray
            The data's covariance ``S`` in the layout of :meth:`spread_layout`.
        floor : float
            The variance added to every component regardless of the data (``reg_covar``).

        Returns
        -------
        ndarray, shape (K,)
            The relative variances (tied: shape ``(1,)``); 0 means a component collapsed.
        """
        raise NotImplementedError

    def surely_above(self, covariances, spread, rtol):
        """Whether every component's relative variance (:meth:`relative_variances`, floor
        0) is above ``rtol``, decided cheaply where possible: ``True`` is certain; ``False``
        means either some component is at or below ``rtol`` or the cheap test could not
        tell, and the caller computes :meth:`relative_variances`.

        Parameters
        ----------
        covariances : ndarray
            In this type's layout (:meth:`shape`).
        spread : ndarray
            The data's covariance in :meth:`spread_layout`.
        rtol : float

        Returns
        -------
        bool
        """
        return False  # diagonal types: the relative variances themselves are cheap
    def symmetrised(self, covariances: np.ndarray) -> np.ndarray:
        """``covariances`` with each matrix replaced by ``(A + A^T) / 2``.

        Parameters
        ----------
        covariances : ndarray
            Covariances in this type's layout (:meth:`shape`).

        Returns
        -------
        ndarray
            The symmetrised covariances, same shape (the diagonal types return their input).
        """
        return covariances

    def permuted(self, covariances: np.ndarray, order) -> np.ndarray:
        """The covariances of the components relabelled by ``order``.

        Parameters
        ----------
        covariances : ndarray
            Covariances in this type's layout (:meth:`shape`).
        order : array_like of int, shape (K,)
            The new order: component ``k`` of the result is component ``order[k]`` of the
            input (a permutation of ``0, ..., K - 1``).

        Returns
        -------
        ndarray
            The relabelled covariances, same shape (tied: the shared matrix unchanged).
        """
        return covariances[order]

    # -- sufficient statistics in this type's layout ---------------------------------------
    #: The layout of the second moments, one of ``"matrices"`` ``(K, D, D)``, ``"pooled"`` (one
    #: ``(D, D)`` scatter of the data, summed over components) or ``"diagonals"`` ``(K, D)``.
    #: Types with the same layout can estimate each other's covariances.
    statistics_layout = "matrices"

    def second_moments_of(self, weighted_resp, centred) -> np.ndarray:
        """``sum_n w_n gamma_nk (x_n - c)(x_n - c)^T`` in this type's layout.

        Parameters
        ----------
        weighted_resp : ndarray, shape (N, K)
            The responsibilities ``gamma_nk`` times the sample weights ``w_n``.
        centred : ndarray, shape (N, D)
            The data less the shift ``c``, ``x_n - c``.

        Returns
        -------
        ndarray
            The second moments in :attr:`statistics_layout`: ``(K, D, D)`` for
            ``"matrices"``, ``(D, D)`` for ``"pooled"``, ``(K, D)`` for ``"diagonals"``.
        """
        raise NotImplementedError

    def recentred_moments(self, moments, sums, counts, delta) -> np.ndarray:
        """Second moments about ``c - delta`` from those about ``c``:
        ``sum gamma (y + delta)(y + delta)^T`` with ``y = x - c``, i.e.
        ``S + s delta^T + delta s^T + N delta delta^T`` (``s`` the sums about ``c``), in this
        type's layout. Re-centring is written here once, for the book's uncentred moments
        (``delta = c``) and for adding statistics with different shifts.

        Parameters
        ----------
        moments : ndarray
            Second moments about ``c`` in :attr:`statistics_layout` (``(K, D, D)``,
            ``(D, D)`` or ``(K, D)``).
        sums : ndarray, shape (K, D)
            Each component's weighted sum ``s_k = sum_n gamma_nk (x_n - c)``.
        counts : ndarray, shape (K,)
            Each component's weighted count ``N_k``.
        delta : ndarray, shape (D,)
            The move of the centre: the result is about ``c - delta``.

        Returns
        -------
        ndarray
            The second moments about ``c - delta``, same layout and shape as ``moments``.
        """
        raise NotImplementedError

    def moments_from_full(self, full_moments: np.ndarray) -> np.ndarray:
        """This type's second-moment layout from per-component moments.

        Parameters
        ----------
        full_moments : ndarray, shape (K, D, D)
            Every component's second-moment matrix.

        Returns
        -------
        ndarray
            The moments in :attr:`statistics_layout`: the input (``"matrices"``), their sum
            over components ``(D, D)`` (``"pooled"``) or their diagonals ``(K, D)``
            (``"diagonals"``).
        """
        raise NotImplementedError

    # -- the engine's layout (gmm._engine) -------------------------------------------------
    #: The quadratic features the engine's E-step needs, one of ``"pairs"`` (every ``x_i x_j``,
    #: ``i <= j``), ``"squares"`` (``x_d^2``) or ``"none"`` (a quadratic term shared by every
    #: component, see :meth:`shared_quadratic_factor`).
    engine_features = "pairs"

    def shared_quadratic_factor(self, precisions_cholesky, n_features):
        """The factor ``P`` of a quadratic term ``-1/2 ||x^T P||^2`` shared by every
        component (tied), or None.

        Parameters
        ----------
        precisions_cholesky : ndarray
            The precision Cholesky factors in this type's layout.
        n_features : int
            ``D``.

        Returns
        -------
        ndarray of shape (D, D) or None
            The shared factor for tied covariances; None for the other types.
        """
        return None

    def engine_precisions(self, precisions_cholesky, n_components, n_features):
        """The engine's per-component precision coefficients.

        Parameters
        ----------
        precisions_cholesky : ndarray
            The precision Cholesky factors in this type's layout.
        n_components : int
            ``K``.
        n_features : int
            ``D``.

        Returns
        -------
        ndarray
            The precisions ``P_k P_k^T``: ``(K, D, D)`` matrices for
            :attr:`engine_features` ``"pairs"`` and ``"none"``, ``(K, D)`` diagonals for
            ``"squares"``.
        """
        raise NotImplementedError

    def full_precision_factors(self, precisions_cholesky, n_components, n_features):
        """Every component's upper-triangular precision factor as a full matrix (the
        engine's factor products work on these).

        Parameters
        ----------
        precisions_cholesky : ndarray
            The precision Cholesky factors in this type's layout.
        n_components : int
            ``K``.
        n_features : int
            ``D``.

        Returns
        -------
        ndarray, shape (K, D, D)
            ``P_k`` for every component (tied: one factor, broadcast; diagonal types: the
            factors as diagonal matrices).
        """
        raise NotImplementedError

    def check(self, covariances: np.ndarray, n_components: int, n_features: int, name: str):
        """Raise ValueError unless ``covariances`` has the right shape and is symmetric
        positive definite.

        Parameters
        ----------
        covariances : ndarray
            Covariances in this type's layout (:meth:`shape`).
        n_components : int
            ``K``.
        n_features : int
            ``D``.
        name : str
            What to call ``covariances`` in the error message.

        Raises
        ------
        ValueError
            Naming ``name`` and what is wrong.
        """
        self.check_layout(covariances, n_components, n_features, name)
        try:
            self.precisions_cholesky(covariances)
        except ValueError:
            raise ValueError(f"{name} {self._not_positive_definite}.") from None

    _not_positive_definite = "is not positive definite"

    def check_layout(self, covariances: np.ndarray, n_components: int, n_features: int,
                     name: str, precision=np.float64):
        """Raise ValueError unless ``covariances`` has the right shape, is finite and (for
        matrices) symmetric to the rounding of ``precision`` (the dtype they were given in).
        Positive definiteness is left to :meth:`precisions_cholesky`.

        Parameters
        ----------
        covariances : ndarray
            Covariances in this type's layout (:meth:`shape`).
        n_components : int
            ``K``.
        n_features : int
            ``D``.
        name : str
            What to call ``covariances`` in the error message.
        precision : numpy.dtype, default numpy.float64
            The dtype the matrices were given in; sets the symmetry tolerance.

        Raises
        ------
        ValueError
            Naming ``name`` and what is wrong.
        """
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
                         name: str = "precisions", precision=np.float64):
        """Raise ValueError unless ``precisions`` has the right shape and is symmetric
        positive definite.

        Parameters
        ----------
        precisions : ndarray
            Precisions ``Sigma^{-1}`` in this type's layout (:meth:`shape`).
        n_components : int
            ``K``.
        n_features : int
            ``D``.
        name : str
            What to call ``precisions`` in the error message.
        precision : numpy.dtype, default numpy.float64
            The dtype the matrices were given in; sets the symmetry tolerance.

        Raises
        ------
        ValueError
            Naming ``name`` and what is wrong.
        """
        self.check_layout(precisions, n_components, n_features, name, precision)
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
        counts, centred_means, offsets = _estimate_preamble(statistics, means)
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
        return _full_precision_cholesky(covariances, lambda k: f"component {k + 1}")

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

    def surely_above(self, covariances, spread, rtol):
        return _surely_above_full(covariances, spread, rtol)

    def symmetrised(self, covariances):
        return 0.5 * (covariances + covariances.transpose(0, 2, 1))

    def recentred_moments(self, moments, sums, counts, delta):
        return (
            moments
            + sums[:, :, None] * delta[None, None, :]
            + delta[None, :, None] * sums[:, None, :]
            + counts[:, None, None] * np.outer(delta, delta)[None]
        )

    def moments_from_full(self, full_moments):
        return full_moments

    def second_moments_of(self, weighted_resp, centred):
        return np.einsum("nk,nd,ne->kde", weighted_resp, centred, centred, optimize=True)

    def engine_precisions(self, precisions_cholesky, n_components, n_features):
        return precisions_cholesky @ precisions_cholesky.transpose(0, 2, 1)

    def full_precision_factors(self, precisions_cholesky, n_components, n_features):
        return precisions_cholesky

    def check_layout(self, covariances, n_components, n_features, name, precision=np.float64):
        super().check_layout(covariances, n_components, n_features, name)
        # Positive definiteness is checked by the Cholesky factorisation that follows.
        rtol, atol = _symmetry_tolerance(covariances, precision)
        asymmetric = ~np.all(
            np.isclose(covariances, covariances.transpose(0, 2, 1), rtol=rtol, atol=atol),
            axis=(1, 2),
        )
        if np.any(asymmetric):
            k = int(np.argmax(asymmetric))
            raise ValueError(f"{name}[{k}] (component {k + 1}) is not symmetric.")


class TiedCovariance(CovarianceType):
    """All components share one symmetric positive definite ``(D, D)`` matrix."""

    name = "tied"

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def n_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def estimate(self, statistics, means, reg_covar):
        counts, centred_means, offsets = _estimate_preamble(statistics, means)
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

    def surely_above(self, covariances, spread, rtol):
        return _surely_above_full(covariances[None], spread, rtol)

    def symmetrised(self, covariances):
        return 0.5 * (covariances + covariances.T)

    def permuted(self, covariances, order):
        return covariances  # shared by every component

    def recentred_moments(self, moments, sums, counts, delta):
        total = sums.sum(axis=0)
        return (
            moments
            + np.outer(total, delta)
            + np.outer(delta, total)
            + counts.sum() * np.outer(delta, delta)
        )

    def moments_from_full(self, full_moments):
        return full_moments.sum(axis=0)

    statistics_layout = "pooled"

    def second_moments_of(self, weighted_resp, centred):
        return (centred * weighted_resp.sum(axis=1)[:, None]).T @ centred

    engine_features = "none"

    def shared_quadratic_factor(self, precisions_cholesky, n_features):
        return precisions_cholesky

    def engine_precisions(self, precisions_cholesky, n_components, n_features):
        return np.broadcast_to(precisions_cholesky @ precisions_cholesky.T,
                               (n_components, n_features, n_features))

    def full_precision_factors(self, precisions_cholesky, n_components, n_features):
        return np.broadcast_to(precisions_cholesky, (n_components, n_features, n_features))

    def check_layout(self, covariances, n_components, n_features, name, precision=np.float64):
        super().check_layout(covariances, n_components, n_features, name)
        rtol, atol = _symmetry_tolerance(covariances, precision)
        if not np.allclose(covariances, covariances.T, rtol=rtol, atol=atol):
            raise ValueError(f"{name} is not symmetric.")


class DiagCovariance(CovarianceType):
    """Each component has a diagonal matrix, stored as its ``D`` variances."""

    name = "diag"

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features

    def estimate(self, statistics, means, reg_covar):
        counts, centred_means, offsets = _estimate_preamble(statistics, means)
        variances = (
            statistics.centred_second_moments / counts
            - 2.0 * offsets * centred_means
            + offsets**2
        )
        return variances + reg_covar

    def precisions_cholesky(self, covariances):
        for k, variances in enumerate(covariances):
            if np.any(variances <= 0):
                raise ComponentCollapseError(_collapse_message(f"component {k + 1}"),
                                             component=k)
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

    def recentred_moments(self, moments, sums, counts, delta):
        return moments + 2 * sums * delta + counts[:, None] * delta**2

    def moments_from_full(self, full_moments):
        return np.diagonal(full_moments, axis1=1, axis2=2).copy()

    statistics_layout = "diagonals"

    def second_moments_of(self, weighted_resp, centred):
        return weighted_resp.T @ (centred * centred)  # only the diagonal is needed

    engine_features = "squares"

    def engine_precisions(self, precisions_cholesky, n_components, n_features):
        return precisions_cholesky**2

    def full_precision_factors(self, precisions_cholesky, n_components, n_features):
        factors = np.zeros((n_components, n_features, n_features))
        diagonal = np.arange(n_features)
        factors[:, diagonal, diagonal] = precisions_cholesky
        return factors

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
                raise ComponentCollapseError(_collapse_message(f"component {k + 1}"),
                                             component=k)
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

    # The statistics keep the diagonal of the second moments, as for diag.
    statistics_layout = "diagonals"
    recentred_moments = DiagCovariance.recentred_moments
    moments_from_full = DiagCovariance.moments_from_full
    second_moments_of = DiagCovariance.second_moments_of

    engine_features = "squares"

    def engine_precisions(self, precisions_cholesky, n_components, n_features):
        return np.repeat((precisions_cholesky**2)[:, None], n_features, axis=1)

    def full_precision_factors(self, precisions_cholesky, n_components, n_features):
        return precisions_cholesky[:, None, None] * np.eye(n_features)[None]

    _not_positive_definite = "must be positive (they are variances)"


COVARIANCE_TYPES: dict[str, CovarianceType] = {
    kind.name: kind()
    for kind in (FullCovariance, TiedCovariance, DiagCovariance, SphericalCovariance)
}


def get_covariance_type(name) -> CovarianceType:
    """The :class:`CovarianceType` called ``name`` (``full``, ``tied``, ``diag``, ``spherical``).

    Parameters
    ----------
    name : str or CovarianceType
        The type's name; a :class:`CovarianceType` is returned as it is.

    Returns
    -------
    CovarianceType

    Raises
    ------
    ValueError
        For an unknown name (the message lists the four).
    """
    if isinstance(name, CovarianceType):
        return name
    try:
        return COVARIANCE_TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown covariance_type {name!r}; choose one of {sorted(COVARIANCE_TYPES)}."
        ) from None
