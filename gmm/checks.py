"""Finite differences: the numerical derivatives the chapters check their derivations with.

A derived gradient, Hessian or Jacobian is checked against these central differences, which
know nothing of the derivation. They are deliberately plain (no step-size adaptation): the
error of a central difference with step ``h`` is ``O(h^2)`` from truncation plus
``O(eps |f| / h)`` from rounding, and a check should state a tolerance above both.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "mpmath_gaussian_density",
    "numerical_gradient",
    "numerical_hessian",
    "numerical_jacobian",
]


def _point(x) -> np.ndarray:
    x = np.array(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D array of parameters; got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite (no NaN or infinity).")
    return x


def _check_step(step: float) -> float:
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be a positive finite number; got {step!r}.")
    return float(step)


def numerical_jacobian(f: Callable, x, step: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian ``J[i, j] = d f_i / d x_j`` of ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        Maps a parameter vector of shape ``(P,)`` to an array (flattened to shape ``(M,)``).
    x : array_like, shape (P,)
    step : float, default 1e-6
        The step ``h`` in every coordinate: ``(f(x + h e_j) - f(x - h e_j)) / (2h)``.

    Returns
    -------
    ndarray, shape (M, P)
    """
    x = _point(x)
    step = _check_step(step)
    columns = []
    for j in range(x.size):
        forward, backward = x.copy(), x.copy()
        forward[j] += step
        backward[j] -= step
        difference = np.ravel(f(forward)) - np.ravel(f(backward))
        columns.append(np.asarray(difference, dtype=np.float64) / (2 * step))
    return np.stack(columns, axis=1)


def numerical_gradient(f: Callable, x, step: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        Maps a parameter vector of shape ``(P,)`` to a float.
    x : array_like, shape (P,)
    step : float, default 1e-5

    Returns
    -------
    ndarray, shape (P,)
    """
    return numerical_jacobian(lambda point: np.atleast_1d(float(f(point))), x, step)[0]


def numerical_hessian(f: Callable, x, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function ``f`` at ``x``, symmetrised.

    Entry ``(i, j)`` is ``(f(x+h e_i+h e_j) - f(x+h e_i-h e_j) - f(x-h e_i+h e_j)
    + f(x-h e_i-h e_j)) / (4h^2)``; its error is ``O(h^2)`` plus ``O(eps |f| / h^2)``.

    Parameters
    ----------
    f : callable
        Maps a parameter vector of shape ``(P,)`` to a float.
    x : array_like, shape (P,)
    step : float, default 1e-4

    Returns
    -------
    ndarray, shape (P, P)
    """
    x = _point(x)
    step = _check_step(step)
    size = x.size
    hessian = np.empty((size, size))
    for i in range(size):
        for j in range(i, size):
            value = 0.0
            for sign_i, sign_j, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                moved = x.copy()
                moved[i] += sign_i * step
                moved[j] += sign_j * step
                value += sign * float(f(moved))
            hessian[i, j] = hessian[j, i] = value / (4 * step * step)
    return hessian


# --- oracles for chapters 0-3


def mpmath_gaussian_density(x, mean, covariance, digits: int = 50):
    """The Gaussian density, eq. :eq:`gaussian-density` of chapter 1, typed out literally
    (determinant and inverse) in ``digits``-digit arithmetic: an oracle that shares no code
    with :func:`gmm.log_gaussian_density` and cannot underflow.

    Needs mpmath (not a dependency of ``import gmm``).

    Parameters
    ----------
    x, mean : array_like, shape (D,)
    covariance : array_like, shape (D, D)
        Symmetric positive definite.
    digits : int, default 50
        Decimal digits of the working precision.

    Returns
    -------
    mpmath.mpf
        ``N(x | mean, covariance)``.
    """
    import mpmath

    x = np.asarray(x, dtype=np.float64).reshape(-1)
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    covariance = np.asarray(covariance, dtype=np.float64)
    if mean.shape != x.shape or covariance.shape != (x.size, x.size):
        raise ValueError(f"x and mean must have shape (D,) and covariance (D, D); got "
                         f"{x.shape}, {mean.shape} and {covariance.shape}.")
    with mpmath.workdps(digits):
        S = mpmath.matrix(covariance.tolist())
        d = mpmath.matrix((x - mean).tolist())
        determinant = mpmath.det(S)
        if determinant <= 0:
            raise ValueError("covariance must be positive definite (its determinant is not "
                             "positive).")
        normaliser = (2 * mpmath.pi) ** (-mpmath.mpf(x.size) / 2) / mpmath.sqrt(determinant)
        return +(normaliser * mpmath.exp(-(d.T * S**-1 * d)[0] / 2))
