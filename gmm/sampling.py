"""Ancestral sampling from the generative model (chapter 1)."""

from __future__ import annotations

import numpy as np

from ._validation import check_positive_int, check_random_state
from .mixture import Mixture

__all__ = ["sample"]


def sample(theta: Mixture, n_samples: int, random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """Draw points from the mixture by ancestral sampling, following eq. :eq:`joint-x-z`:
    first ``z ~ Cat(pi)``, then ``x ~ N(mu_z, Sigma_z)``.

    Parameters
    ----------
    theta : Mixture
    n_samples : int
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray, shape (n_samples, D)
    z : ndarray of int, shape (n_samples,)
        The latent label of every point (the index of the 1 in its one-hot ``z``).
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = check_random_state(random_state)
    labels = rng.choice(theta.n_components, size=n_samples, p=theta.weights)
    factors = np.linalg.cholesky(theta.covariances_full)  # Sigma_k = L_k L_k^T
    noise = rng.standard_normal((n_samples, theta.n_features))
    points = theta.means[labels] + np.einsum("nij,nj->ni", factors[labels], noise)
    return points, labels
