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
