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
