"""The parameters ``theta = (pi, mu, Sigma)`` of a Gaussian mixture, validated once."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ._validation import sum_tolerance
from .covariance import get_covariance_type

__all__ = ["Mixture"]


def _frozen(array) -> np.ndarray:
    array = np.array(array, dtype=np.float64, copy=True)
    array.flags.writeable = False
    return array


def _precision(*arrays):
    """The coarsest floating-point precision among the given arrays (float32 parameters,
    such as scikit-learn's from float32 data, are checked to float32 rounding)."""
    dtypes = [np.asarray(a).dtype for a in arrays]
    if any(d == np.float32 or d == np.float16 for d in dtypes):
        return np.float32
    return np.float64


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Mixture:
    """The parameters ``theta`` of a Gaussian mixture with ``K`` components in ``D`` dimensions.

    Parameters
    ----------
    weights : array_like, shape (K,)
        Mixing weights ``pi_k = p(z_k = 1)`` (eq. :eq:`prior-z`): non-negative, summing to 1.
    means : array_like, shape (K, D)
        Component means ``mu_k``.
    covariances : array_like
        Component covariances ``Sigma_k``; shape ``(K, D, D)`` for ``full``, ``(D, D)`` for
        ``tied``, ``(K, D)`` for ``diag`` and ``(K,)`` for ``spherical``.
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"

    The arrays are copied (in float64) and made read-only; copies made by ``pickle`` or
    ``copy.deepcopy`` are rebuilt through the constructor, so they are read-only and checked
    too. The Cholesky factors of the precisions are computed once, on construction, so a
    covariance that is not positive definite is reported here, naming its component.
    Parameters given in float32 are checked to float32 rounding (weights summing to 1, a
    symmetric matrix) and then made exact: the weights renormalised, the matrices
    symmetrised.

    Examples
    --------
    >>> import gmm
    >>> theta = gmm.Mixture(weights=[0.3, 0.7], means=[[0.0], [4.0]],
    ...                     covariances=[[[1.0]], [[2.0]]])
    >>> theta.n_components, theta.n_features
    (2, 1)
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str = "full"
    precisions_cholesky: np.ndarray = dataclasses.field(init=False)

    def __post_init__(self):
        kind = get_covariance_type(self.covariance_type)
        try:
            precision = _precision(self.weights, self.means, self.covariances)
            weights = _frozen(self.weights)
            means = _frozen(self.means)
            covariances = _frozen(self.covariances)
        except (TypeError, ValueError):
            raise ValueError("weights, means and covariances must be numeric arrays.") from None
        if means.ndim != 2:
            raise ValueError(
                f"means must have shape (n_components, n_features); got shape {means.shape}."
            )
        n_components, n_features = means.shape
        if weights.shape != (n_components,):
            raise ValueError(
                f"weights must have shape ({n_components},), one per component; got "
                f"{weights.shape}."
            )
        if not np.all(np.isfinite(weights)) or not np.all(np.isfinite(means)):
            raise ValueError("weights and means must be finite (no NaN or infinity).")
        if np.any(weights < 0):
            raise ValueError(f"weights must be non-negative; got {weights.tolist()}.")
        if not np.isclose(weights.sum(), 1.0, rtol=0,
                          atol=sum_tolerance(precision, n_components)):
            raise ValueError(
                f"weights must sum to 1 (they are probabilities); they sum to {weights.sum()!r}."
            )
        kind.check_layout(covariances, n_components, n_features, "covariances", precision)
        if precision != np.float64:
            weights = _frozen(weights / weights.sum())
            covariances = _frozen(kind.symmetrised(covariances))
        object.__setattr__(self, "covariance_type", kind.name)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covariances", covariances)
        factor = np.asarray(kind.precisions_cholesky(covariances))
        factor.flags.writeable = False
        object.__setattr__(self, "precisions_cholesky", factor)

    def __reduce__(self):
        # Rebuilt through the constructor: read-only arrays and a fresh Cholesky factor.
        return (type(self), (np.array(self.weights), np.array(self.means),
                             np.array(self.covariances), self.covariance_type))

    @classmethod
    def from_precisions(cls, weights, means, precisions, covariance_type="full") -> Mixture:
        """Build ``theta`` from precisions ``Sigma^{-1}`` (scikit-learn's ``precisions_init``).

        Parameters
        ----------
        weights : array_like of shape (K,)
            The mixing weights ``pi_k``.
        means : array_like of shape (K, D)
            The component means ``mu_k``.
        precisions : array_like
            The precisions ``Sigma_k^{-1}`` in the layout of ``covariance_type``.
        covariance_type : str, default "full"
            ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``.

        Returns
        -------
        Mixture
            The mixture whose covariances are the inverses of ``precisions``.

        Raises
        ------
        ValueError
            If ``means`` is not 2-D or ``precisions`` has the wrong shape or is not symmetric
            positive definite.
        """
        kind = get_covariance_type(covariance_type)
        precision = _precision(weights, means, precisions)
        precisions = np.asarray(precisions, dtype=np.float64)
        means_array = np.asarray(means, dtype=np.float64)
        if means_array.ndim != 2:
            raise ValueError(f"means must be 2-D; got shape {means_array.shape}.")
        kind.check_precisions(precisions, means_array.shape[0], means_array.shape[1],
                              precision=precision)
        covariances = kind.covariances_from_precisions(kind.symmetrised(precisions))
        return cls(weights, means, kind.symmetrised(covariances), kind.name)

    @property
    def n_components(self) -> int:
        """``K``, the number of components."""
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        """``D``, the dimension of the data."""
        return self.means.shape[1]

    @property
    def kind(self):
        """The :class:`gmm.covariance.CovarianceType` of this mixture."""
        return get_covariance_type(self.covariance_type)

    @property
    def covariances_full(self) -> np.ndarray:
        """Every component's covariance as a ``(D, D)`` matrix: shape ``(K, D, D)``."""
        return self.kind.to_full(self.covariances, self.n_components, self.n_features)

    @property
    def precisions(self) -> np.ndarray:
        """The precisions ``Sigma_k^{-1}`` in the layout of ``covariances``."""
        return self.kind.precisions(np.asarray(self.precisions_cholesky))

    def replace(self, **changes) -> Mixture:
        """A copy with some of ``weights``, ``means``, ``covariances`` replaced.

        Parameters
        ----------
        **changes
            New values by name: ``weights``, ``means``, ``covariances`` or
            ``covariance_type``.

        Returns
        -------
        Mixture
            The new mixture (checked like any other).

        Raises
        ------
        ValueError
            For a name that is not a parameter of the mixture.
        """
        fields = {
            "weights": self.weights,
            "means": self.means,
            "covariances": self.covariances,
            "covariance_type": self.covariance_type,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValueError(f"Mixture has no parameter(s) {sorted(unknown)}.")
        fields.update(changes)
        return Mixture(**fields)

    def permuted(self, order: Sequence[int]) -> Mixture:
        """The same mixture with its components relabelled: component ``j`` of the result is
        component ``order[j]`` of this one. ``ln p(X)`` is unchanged (label switching).

        Parameters
        ----------
        order : sequence of int
            A permutation of ``0, ..., K - 1``.

        Returns
        -------
        Mixture
            The relabelled mixture.

        Raises
        ------
        ValueError
            If ``order`` is not a permutation of ``0, ..., K - 1``.
        """
        order = np.asarray(order)
        if sorted(order.tolist()) != list(range(self.n_components)):
            raise ValueError(f"order must be a permutation of 0..{self.n_components - 1}.")
        return self.replace(
            weights=self.weights[order], means=self.means[order],
            covariances=self.kind.permuted(self.covariances, order),
        )

    def __repr__(self) -> str:
        with np.printoptions(precision=4, suppress=True):
            return (
                f"Mixture(covariance_type={self.covariance_type!r}, "
                f"n_components={self.n_components}, n_features={self.n_features},\n"
                f"  weights={self.weights},\n  means={self.means.tolist()})"
            )
