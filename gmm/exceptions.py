"""The warnings and errors gmm raises beyond ValueError."""

from __future__ import annotations

import functools
import sys

__all__ = ["ConvergenceWarning", "NotFittedError", "ComponentCollapseError"]


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood settled to within ``tol``."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class ComponentCollapseError(ValueError):
    """A component collapsed during EM: its covariance is numerically singular relative to
    the data's own spread (the singularity of the log-likelihood, chapter 3).

    Attributes
    ----------
    component : int
        The collapsed component, numbered from 0 (the message numbers it from 1).
    iteration : int
        The EM iteration at which it collapsed.
    """

    def __init__(self, message: str, component: int = -1, iteration: int = -1):
        super().__init__(message)
        self.component = component
        self.iteration = iteration


@functools.cache
def _sklearn_not_fitted_error(sklearn_class):
    return type("NotFittedError", (NotFittedError, sklearn_class), {"__module__": __name__})


def not_fitted_error_class():
    """:class:`NotFittedError`, which is also scikit-learn's ``NotFittedError`` when
    scikit-learn has been imported (so its tools recognise it); gmm never imports it."""
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    if sklearn_exceptions is None:
        return NotFittedError
    return _sklearn_not_fitted_error(sklearn_exceptions.NotFittedError)
