"""EM as a map of the parameters, and the free parameters it moves (chapter 7).

One EM iteration is a map ``theta -> M(theta)``: the M-step applied to the responsibilities
of the E-step. EM is the fixed-point iteration ``theta^(t+1) = M(theta^(t))``; near a
maximum ``theta*`` its error is multiplied at every step by the Jacobian ``dM/dtheta`` at
``theta*``, whose largest eigenvalue is the rate of convergence, the largest fraction of
missing information (eq. :eq:`ch7-rate`). To differentiate ``M`` numerically
(``gmm.checks.numerical_jacobian``), ``theta`` is written as a vector of its free
parameters: :func:`free_parameters` and :func:`mixture_from_free_parameters`.
"""

from __future__ import annotations

import numpy as np

from .covariance import get_covariance_type
from .likelihood import responsibilities
from .mixture import Mixture
from .mstep import m_step

__all__ = ["em_map", "free_parameters", "mixture_from_free_parameters"]

#: Covariance layouts that hold symmetric matrices, whose free entries are the upper
#: triangles; the other layouts hold free numbers only.
_MATRIX_LAYOUTS = {"full": True, "tied": True, "diag": False, "spherical": False}


def em_map(X, theta: Mixture, reg_covar: float = 1e-6) -> Mixture:
    """One EM iteration ``M(theta)``, eq. :eq:`ch7-em-map`: the M-step
    (:func:`gmm.m_step`) for the responsibilities under ``theta`` (:func:`gmm.responsibilities`).

    Parameters
    ----------
    X : array_like, shape (N, D)
    theta : Mixture
    reg_covar : float, default 1e-6
        As in :func:`gmm.em`; ``M``'s fixed points are those of the EM that used it.

    Returns
    -------
    Mixture
    """
    return m_step(X, responsibilities(X, theta), theta.covariance_type, reg_covar)


def free_parameters(theta: Mixture) -> np.ndarray:
    """``theta`` as the vector of its free parameters, shape ``(p,)`` with ``p`` of eq.
    :eq:`n-parameters`: the weights ``pi_1 .. pi_{K-1}`` (``pi_K`` is one minus their sum),
    the means row by row, and each covariance's upper triangle (diagonal included) row by row
    for ``full`` and ``tied``, or its entries as stored for ``diag`` and ``spherical``.

    Parameters
    ----------
    theta : Mixture

    Returns
    -------
    ndarray, shape (p,)
    """
    covariances = np.asarray(theta.covariances)
    if _MATRIX_LAYOUTS[get_covariance_type(theta.covariance_type).name]:
        upper = np.triu_indices(theta.n_features)
        covariances = covariances[..., upper[0], upper[1]]
    return np.concatenate(
        [theta.weights[:-1], np.ravel(theta.means), np.ravel(covariances)]
    )


def mixture_from_free_parameters(vector, covariance_type: str, n_components: int,
                                 n_features: int) -> Mixture:
    """The inverse of :func:`free_parameters`.

    Parameters
    ----------
    vector : array_like, shape (p,)
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_components, n_features : int

    Returns
    -------
    Mixture
        Validated as usual: a weight below zero or a covariance that is not positive
        definite raises ValueError.
    """
    kind = get_covariance_type(covariance_type)
    vector = np.asarray(vector, dtype=np.float64)
    K, D = n_components, n_features
    n_weights_means = K - 1 + K * D
    expected = n_weights_means + kind.n_parameters(K, D)
    if vector.shape != (expected,):
        raise ValueError(
            f"A {kind.name} mixture with K = {K}, D = {D} has {expected} free parameters; "
            f"got a vector of shape {vector.shape}."
        )
    # pi_K from the constraint: the K - 1 free weights are a chart of the simplex.
    weights = np.append(vector[:K - 1], 1.0 - vector[:K - 1].sum())
    means = vector[K - 1:n_weights_means].reshape(K, D)
    stored = vector[n_weights_means:]
    if _MATRIX_LAYOUTS[kind.name]:
        leading = (K,) if kind.name == "full" else ()
        upper = np.triu_indices(D)
        matrices = np.zeros((*leading, D, D))
        matrices[..., upper[0], upper[1]] = stored.reshape(*leading, -1)
        strict = np.triu(matrices, 1)
        covariances = matrices + np.swapaxes(strict, -1, -2)
    else:
        covariances = stored.reshape((K, D) if kind.name == "diag" else (K,))
    return Mixture(weights, means, covariances, kind.name)
