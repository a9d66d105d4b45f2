"""The warnings and errors gmm raises beyond ValueError."""

from __future__ import annotations

import functools
import sys

# ConvergenceWarning is provided by the module's __getattr__ below.
__all__ = ["ConvergenceWarning", "NotFittedError", "ComponentCollapseError"]  # noqa: F822


class _ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood settled to within ``tol``.

    ``gmm.ConvergenceWarning`` is this class, or, once scikit-learn has been imported, its
    subclass that is also scikit-learn's ``ConvergenceWarning`` (so that scikit-learn's
    tools and filters recognise it); gmm never imports scikit-learn itself."""


_ConvergenceWarning.__name__ = _ConvergenceWarning.__qualname__ = "ConvergenceWarning"


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
def _sklearn_convergence_warning(sklearn_class):
    return type("ConvergenceWarning", (_ConvergenceWarning, sklearn_class),
                {"__module__": __name__, "__doc__": _ConvergenceWarning.__doc__})


def convergence_warning_class():
    """``gmm.ConvergenceWarning`` as of now (see :class:`ConvergenceWarning`)."""
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    if sklearn_exceptions is None:
        return _ConvergenceWarning
    return _sklearn_convergence_warning(sklearn_exceptions.ConvergenceWarning)


def __getattr__(name):
    # ConvergenceWarning is looked up when used, so that it follows scikit-learn's import.
    if name == "ConvergenceWarning":
        return convergence_warning_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
