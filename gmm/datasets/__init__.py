"""Data for the book: Old Faithful (shipped with the package) and synthetic mixtures."""

from __future__ import annotations

from importlib import resources

import numpy as np

from .._validation import as_data, check_positive_int, check_random_state
from ..mixture import Mixture
from ..sampling import sample

__all__ = [
    "load_old_faithful",
    "load_running_example",
    "standardize",
    "make_mixture",
    "OLD_FAITHFUL_COLUMNS",
]

#: The columns of :func:`load_old_faithful`, both in minutes.
OLD_FAITHFUL_COLUMNS = ("eruptions", "waiting")


def load_old_faithful() -> np.ndarray:
    """The Old Faithful geyser data: 272 eruptions, shape ``(272, 2)``.

    Columns (both in minutes): ``eruptions``, the duration of the eruption, and ``waiting``,
    the waiting time to the next eruption (recorded in whole minutes). Exported unchanged
    from R's ``datasets::faithful`` (R 4.2.2) and shipped inside this package, so nothing is
    downloaded.

    Sources: Azzalini, A. and Bowman, A. W. (1990), "A look at some data on the Old Faithful
    geyser", *Applied Statistics* 39, 357-365; Härdle, W. (1991), *Smoothing Techniques with
    Implementation in S*, Springer. It is the data of Bishop (2006), *Pattern Recognition and
    Machine Learning*, Figures 9.1 and 9.8 (there standardised, see :func:`standardize`).

    Returns
    -------
    ndarray, shape (272, 2)
    """
    text = resources.files(__package__).joinpath("old_faithful.csv").read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.strip().splitlines()[1:]]
    data = np.array(rows, dtype=np.float64)
    data.flags.writeable = False
    return data.copy()


def standardize(X) -> np.ndarray:
    """Each column shifted to zero mean and scaled to unit variance (``ddof=0``).

    Parameters
    ----------
    X : array_like, shape (N, D)

    Returns
    -------
    ndarray, shape (N, D)
    """
    X = as_data(X)
    scale = X.std(axis=0)
    if np.any(scale == 0):
        raise ValueError("A column of X is constant; it cannot be scaled to unit variance.")
    return (X - X.mean(axis=0)) / scale


def make_mixture(n_samples: int = 500, theta: Mixture | None = None, random_state=None):
    """Points drawn from a mixture with known parameters.

    Parameters
    ----------
    n_samples : int, default 500
    theta : Mixture, optional
        Defaults to three well-separated two-dimensional components.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray, shape (n_samples, D)
    z : ndarray of int, shape (n_samples,)
        The component each point came from.
    theta : Mixture
        The parameters used.
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    if theta is None:
        theta = Mixture(
            weights=[0.5, 0.3, 0.2],
            means=[[0.0, 0.0], [4.0, 3.0], [-3.0, 4.0]],
            covariances=[
                [[1.0, 0.5], [0.5, 1.0]],
                [[1.5, -0.4], [-0.4, 0.6]],
                [[0.5, 0.0], [0.0, 1.2]],
            ],
        )
    X, z = sample(theta, n_samples, check_random_state(random_state))
    return X, z, theta


def load_running_example():
    """The book's hand-computable running example: six points on a line and a start, K = 2.

    The points are ``x = (0, 1, 2, 4, 5, 6)``; the start ``theta_old`` has equal weights
    ``pi = (1/2, 1/2)``, means ``mu = (1, 5)`` and equal variances ``sigma^2 = (4, 4)``. With
    equal weights and variances the responsibility of component 1 is the logistic function of
    a linear function of ``x``: ``gamma_1(x) = 1 / (1 + exp(x - 3))`` (chapter 2), so a reader
    can compute every quantity of chapters 1-6 by hand, with a table of ``e^k``: the
    responsibilities are ``sigma(3), sigma(2), sigma(1), sigma(-1), sigma(-2), sigma(-3)``, the
    effective counts ``N_1 = N_2 = 3`` (the points pair up as ``sigma(a) + sigma(-a) = 1``).

    Returns
    -------
    X : ndarray, shape (6, 1)
    theta_old : Mixture
        The start, with ``covariance_type="full"`` (covariances of shape ``(2, 1, 1)``).
    """
    X = np.array([[0.0], [1.0], [2.0], [4.0], [5.0], [6.0]])
    theta_old = Mixture(
        weights=[0.5, 0.5], means=[[1.0], [5.0]], covariances=[[[4.0]], [[4.0]]]
    )
    return X, theta_old
