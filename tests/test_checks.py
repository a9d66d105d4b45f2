"""gmm.checks against derivatives known in closed form."""

import numpy as np
import pytest

from gmm.checks import numerical_gradient, numerical_hessian, numerical_jacobian


def quadratic(x):
    A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    return 0.5 * x @ A @ x + np.sin(x[0])


def test_gradient_and_hessian_of_a_known_function():
    A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    x = np.array([0.3, -1.2, 2.0])
    gradient = A @ x + np.array([np.cos(x[0]), 0.0, 0.0])
    hessian = A - np.diag([np.sin(x[0]), 0.0, 0.0])
    np.testing.assert_allclose(numerical_gradient(quadratic, x), gradient, atol=1e-8)
    np.testing.assert_allclose(numerical_hessian(quadratic, x), hessian, atol=1e-6)


def test_jacobian_of_a_known_map():
    x = np.array([0.5, 2.0])

    def f(point):
        return np.array([point[0] * point[1], np.exp(point[0]), point[1] ** 2])

    expected = np.array([[x[1], x[0]], [np.exp(x[0]), 0.0], [0.0, 2 * x[1]]])
    np.testing.assert_allclose(numerical_jacobian(f, x), expected, atol=1e-8)


@pytest.mark.parametrize("x", [np.zeros((2, 2)), [np.nan]])
def test_bad_points(x):
    with pytest.raises(ValueError):
        numerical_gradient(quadratic, x)


def test_bad_step():
    with pytest.raises(ValueError, match="step"):
        numerical_jacobian(lambda p: p, [1.0], step=0.0)


def test_mpmath_gaussian_density_against_closed_forms():
    import math

    import mpmath

    from gmm.checks import mpmath_gaussian_density

    # One dimension: exp(-(x - m)^2 / (2 v)) / sqrt(2 pi v), with the math module.
    value = mpmath_gaussian_density([1.5], [0.5], [[4.0]])
    expected = math.exp(-(1.0**2) / 8.0) / math.sqrt(2 * math.pi * 4.0)
    assert abs(float(value) - expected) < 1e-15 * expected
    # Two dimensions, correlated: the 2 x 2 inverse and determinant written out by hand.
    a, b, c = 2.0, 0.6, 1.0  # covariance [[a, b], [b, c]]
    dx, dy = 0.7, -1.1
    det = a * c - b * b
    quadratic = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det
    expected = math.exp(-quadratic / 2) / (2 * math.pi * math.sqrt(det))
    value = mpmath_gaussian_density([dx + 1.0, dy - 2.0], [1.0, -2.0], [[a, b], [b, c]])
    assert abs(float(value) - expected) < 1e-14 * expected
    # Far in the tail it does not underflow: ln N = -1/2 ln(2 pi) - 1/2 * 2000^2 exactly.
    far = mpmath_gaussian_density([2000.0], [0.0], [[1.0]])
    assert abs(float(mpmath.log(far)) - (-0.5 * math.log(2 * math.pi) - 2e6)) < 1e-9
    with pytest.raises(ValueError, match="positive definite"):
        mpmath_gaussian_density([0.0, 0.0], [0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="shape"):
        mpmath_gaussian_density([0.0], [0.0, 0.0], [[1.0]])


# --- oracles for chapters 4-6


def test_scipy_log_weighted_densities_against_closed_forms():
    from gmm import Mixture
    from gmm.checks import scipy_log_weighted_densities

    # 1-D: ln pi_k - ln(2 pi sigma_k^2) / 2 - (x - mu_k)^2 / (2 sigma_k^2), typed out
    x = np.array([[0.0], [1.5], [-2.0]])
    theta = Mixture(weights=[0.3, 0.7], means=[[0.0], [1.0]], covariances=[[[4.0]], [[0.25]]])
    variances = np.array([4.0, 0.25])
    expected = (np.log([0.3, 0.7]) - 0.5 * np.log(2 * np.pi * variances)
                - (x - np.array([0.0, 1.0])) ** 2 / (2 * variances))
    np.testing.assert_allclose(scipy_log_weighted_densities(x, theta), expected, rtol=1e-13)
    # 2-D with a correlated covariance: the density written with det and inverse
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    theta2 = Mixture(weights=[1.0], means=[[1.0, -1.0]], covariances=[cov])
    points = np.array([[0.0, 0.0], [1.0, -1.0], [3.0, 2.0]])
    d = points - [1.0, -1.0]
    quad = np.einsum("nd,de,ne->n", d, np.linalg.inv(cov), d)
    expected2 = -np.log(2 * np.pi) - 0.5 * np.log(np.linalg.det(cov)) - 0.5 * quad
    np.testing.assert_allclose(scipy_log_weighted_densities(points, theta2)[:, 0], expected2,
                               rtol=1e-13)
    # a diagonal-type mixture is expanded to its full matrices
    theta3 = Mixture(weights=[0.5, 0.5], means=[[0.0, 0.0], [1.0, 1.0]],
                     covariances=[[1.0, 4.0], [0.5, 0.5]], covariance_type="diag")
    full = Mixture(weights=[0.5, 0.5], means=[[0.0, 0.0], [1.0, 1.0]],
                   covariances=[np.diag([1.0, 4.0]), np.diag([0.5, 0.5])])
    np.testing.assert_allclose(scipy_log_weighted_densities(points, theta3),
                               scipy_log_weighted_densities(points, full), rtol=1e-14)


def test_scipy_log_weighted_densities_bad_shape():
    from gmm import Mixture
    from gmm.checks import scipy_log_weighted_densities

    theta = Mixture(weights=[1.0], means=[[0.0, 0.0]], covariances=[np.eye(2)])
    with pytest.raises(ValueError, match="shape"):
        scipy_log_weighted_densities(np.zeros((3, 3)), theta)


def test_hessian_error_estimate_brackets_the_true_error():
    from gmm.checks import numerical_hessian_with_error

    # f = exp(a x) exp(b y) + x^2 y^2: fourth derivatives non-zero, Hessian known
    a, b = 1.3, -0.7
    x = np.array([0.4, 0.9])

    def f(p):
        return np.exp(a * p[0] + b * p[1]) + p[0] ** 2 * p[1] ** 2

    e = np.exp(a * x[0] + b * x[1])
    exact = np.array([[a * a * e + 2 * x[1] ** 2, a * b * e + 4 * x[0] * x[1]],
                      [a * b * e + 4 * x[0] * x[1], b * b * e + 2 * x[0] ** 2]])
    for step in (1e-2, 3e-3, 1e-3):
        hessian, error = numerical_hessian_with_error(f, x, step)
        actual = np.abs(hessian - exact)
        assert np.all(actual <= 1.5 * error)  # the estimate covers the error
        assert np.max(error) < 10 * np.max(actual) + 1e-9  # and is not vacuous


def test_hessian_error_estimate_includes_rounding():
    from gmm.checks import numerical_hessian_with_error

    # a quadratic has no truncation error: what remains is rounding, eps |f| / h^2
    def f(p):
        return 1e6 + p[0] ** 2

    _, error = numerical_hessian_with_error(f, [0.5], step=1e-4)
    assert error[0, 0] >= np.finfo(float).eps * 1e6 / 1e-8
