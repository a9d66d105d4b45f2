"""Independent reference computations and shared fixtures for the tests.

Everything here is written out with numpy, scipy or by hand, never through the library's own
covariance layouts or densities, so that a test comparing the library against it compares
two independent computations. No test functions live here; the test modules import what
they need (`from oracles import ...`: pytest's default import mode puts tests/ on sys.path,
since tests/ is not a package).
"""

import numpy as np
import scipy.stats

import gmm

TYPES = ("full", "tied", "diag", "spherical")


# --- Random and fixed mixtures, data and starts -------------------------------------------


def random_mixture(rng, covariance_type, K, D):
    """A random mixture with well-conditioned covariances of the given type."""
    weights = rng.dirichlet(2.0 * np.ones(K))
    means = rng.normal(scale=3.0, size=(K, D))
    if covariance_type == "full":
        A = rng.normal(size=(K, D, D))
        covariances = A @ A.transpose(0, 2, 1) + 0.3 * np.eye(D)
    elif covariance_type == "tied":
        A = rng.normal(size=(D, D))
        covariances = A @ A.T + 0.3 * np.eye(D)
    elif covariance_type == "diag":
        covariances = rng.uniform(0.2, 3.0, size=(K, D))
    else:
        covariances = rng.uniform(0.2, 3.0, size=K)
    return gmm.Mixture(weights, means, covariances, covariance_type)


def synthetic_data(seed=0, n=600):
    """Three overlapping but well-separated 2-D clusters (a stable fit)."""
    truth = gmm.Mixture(
        [0.5, 0.3, 0.2],
        [[0.0, 0.0], [4.0, 2.0], [-2.0, 4.0]],
        [[[1.0, 0.4], [0.4, 1.5]], [[1.2, -0.3], [-0.3, 0.8]], [[0.6, 0.0], [0.0, 1.0]]],
    )
    X, _ = gmm.sample(truth, n, random_state=seed)
    return X


def initial_parameters(covariance_type):
    """A fixed 3-component start for synthetic_data, as scikit-learn's keyword arguments
    (weights_init, means_init, precisions_init in the layout of covariance_type)."""
    precisions = {
        "full": np.array([np.eye(2), [[1.0, 0.2], [0.2, 0.8]], 0.5 * np.eye(2)]),
        "tied": np.array([[0.9, 0.1], [0.1, 0.7]]),
        "diag": np.array([[1.0, 0.8], [0.5, 1.2], [2.0, 1.0]]),
        "spherical": np.array([1.0, 0.6, 1.4]),
    }[covariance_type]
    return {"weights_init": np.array([0.4, 0.35, 0.25]),
            "means_init": np.array([[0.5, -0.5], [3.0, 2.5], [-1.5, 3.0]]),
            "precisions_init": precisions}


# --- Covariances as (K, D, D) matrices ------------------------------------------------------


def expand(covariances, covariance_type, K, D):
    """Every component's (D, D) matrix, written out independently of the library."""
    if covariance_type == "full":
        return np.array(covariances)
    if covariance_type == "tied":
        return np.array([covariances] * K)
    if covariance_type == "diag":
        return np.array([np.diag(v) for v in covariances])
    return np.array([s * np.eye(D) for s in covariances])


def full_matrices(theta):
    """The (K, D, D) covariance matrices of a mixture, by expand."""
    K, D = theta.means.shape
    return expand(np.asarray(theta.covariances), theta.covariance_type, K, D)


def covariance_estimates(scatter, counts, n_samples, covariance_type):
    """The M-step covariances (without reg_covar) in the layout of covariance_type, from the
    per-component weighted scatter matrices sum_n gamma_nk (x_n - mu_k)(x_n - mu_k)^T, the
    counts N_k and the number of points N."""
    D = scatter.shape[-1]
    return {
        "full": lambda: scatter / counts[:, None, None],
        "tied": lambda: scatter.sum(axis=0) / n_samples,
        "diag": lambda: np.array([np.diag(s) for s in scatter]) / counts[:, None],
        "spherical": lambda: np.array([np.trace(s) for s in scatter]) / (counts * D),
    }[covariance_type]()


# --- Densities from scipy -------------------------------------------------------------------


def scipy_log_densities(X, theta):
    """ln N(x_n | mu_k, Sigma_k) from scipy.stats.multivariate_normal, shape (N, K)."""
    return np.column_stack([
        scipy.stats.multivariate_normal(mean, cov).logpdf(X).reshape(len(X))
        for mean, cov in zip(theta.means, full_matrices(theta), strict=True)
    ])


def log_joint(X, theta):
    """ln pi_k + ln N(x_n | mu_k, Sigma_k) from scipy, shape (N, K)."""
    return np.log(theta.weights) + scipy_log_densities(X, theta)


# --- Assertions -----------------------------------------------------------------------------


def assert_relative(actual, expected, rtol):
    """allclose with rtol, and an absolute floor of rtol times the largest |expected|."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)
