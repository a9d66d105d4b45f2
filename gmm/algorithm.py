"""The EM loop, written once: E-step, M-step, until the log-likelihood stops rising."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ._engine import centred_moments, em_iteration
from ._validation import (
    as_data,
    as_sample_weight,
    check_non_negative_real,
    check_positive_int,
)
from .criteria import COLLAPSE_RTOL, relative_variances
from .exceptions import ComponentCollapseError
from .likelihood import _log_weighted_densities, logsumexp
from .mixture import Mixture
from .mstep import _check_fixed, _parameters_from_statistics
from .stopping import STOPPING_RULES, is_converged

__all__ = ["EMResult", "em", "e_step"]

def _check_not_collapsed(theta: Mixture, statistics, iteration: int) -> None:
    """Raise :class:`ComponentCollapseError` if a component of ``theta`` has collapsed
    relative to the data's spread (read off the statistics of the same iteration)."""
    kind = theta.kind
    spread = kind.pooled_second_moments(statistics.centred_second_moments) / statistics.n_samples
    ratios = relative_variances(theta, spread)
    collapsed = np.flatnonzero(ratios <= COLLAPSE_RTOL)
    if collapsed.size:
        k = int(collapsed[0])
        raise ComponentCollapseError(
            f"Component {k + 1} collapsed at EM iteration {iteration}: in some direction "
            f"its variance is {ratios[k]:.2g} times the data's variance in that direction, "
            "at the rounding level of the statistics, so it sits on a single point or a "
            "lower-dimensional set (the singularity of the log-likelihood, chapter 3). "
            "Increase reg_covar or use fewer components.",
            component=k, iteration=iteration,
        )


@dataclasses.dataclass
class EMResult:
    """What :func:`em` returns.

    Attributes
    ----------
    mixture : Mixture
        The final ``theta``.
    log_likelihoods : list of float
        ``ln p(X | theta^(t))`` (a sum over points) for ``t = 0 .. n_iter``; entry 0 is the
        starting point. EM never lets it decrease (chapter 4).
    converged : bool
        Whether the change in the per-point log-likelihood fell below ``tol``.
    n_iter : int
        Number of EM iterations (M-steps) done.
    lower_bound : float
        scikit-learn's ``lower_bound_``: the per-point log-likelihood computed in the last
        E-step, i.e. ``log_likelihoods[-2] / N``.
    log_resp : ndarray, shape (N, K)
        Log-responsibilities under the final ``theta``.
    history : list of Mixture or None
        ``theta^(0) .. theta^(n_iter)`` when asked for with ``keep_history``.
    """

    mixture: Mixture
    log_likelihoods: list
    converged: bool
    n_iter: int
    lower_bound: float
    log_resp: np.ndarray
    history: list | None = None


def e_step(X: np.ndarray, theta: Mixture):
    """The E-step: ``ln p(x_n)`` (shape ``(N,)``) and ``ln gamma(z_nk)`` (shape ``(N, K)``)
    under ``theta`` (eqs. :eq:`mixture-density` and :eq:`responsibility`). ``X`` is assumed
    validated."""
    weighted = _log_weighted_densities(X, theta)
    log_marginal = logsumexp(weighted, axis=1)
    return log_marginal, weighted - log_marginal[:, None]


def em(
    X,
    theta0: Mixture,
    *,
    tol: float = 1e-3,
    max_iter: int = 100,
    reg_covar: float = 1e-6,
    stopping: str = "change",
    sample_weight=None,
    fixed=(),
    keep_history: bool = False,
    verbose: int = 0,
    verbose_interval: int = 10,
) -> EMResult:
    """Run EM from ``theta0`` (the algorithm of chapter 6).

    Each iteration computes the responsibilities under the current ``theta`` (E-step) and
    the ``theta`` that maximises ``Q`` for them (M-step). It stops when the per-point
    log-likelihood changes by less than ``tol`` (scikit-learn's rule, eq.
    :eq:`ch7-stopping-rule`), or with ``stopping="aitken"`` when Aitken's estimate of the
    rise still to come is below ``tol`` (eq. :eq:`ch7-aitken`), or after ``max_iter``
    iterations.

    Parameters
    ----------
    X : array_like, shape (N, D)
    theta0 : Mixture
        The starting point.
    tol : float, default 1e-3
        In nats per point, for either rule.
    max_iter : int, default 100
        ``0`` evaluates ``theta0`` only.
    reg_covar : float, default 1e-6
    stopping : {"change", "aitken"}, default "change"
        The stopping rule (:func:`gmm.stopping.is_converged`). ``"aitken"`` does not stop
        on a plateau, where the rises are small but not shrinking, and its ``tol`` bounds the
        distance to the limit rather than the last step (chapter 7).
    sample_weight : array_like, shape (N,), optional
    fixed : iterable of {"weights", "means", "covariances"}
        Parameters held at their values in ``theta0``.
    keep_history : bool, default False
        Keep ``theta`` of every iteration in ``EMResult.history``.
    verbose : int, default 0
        ``>= 1`` prints the log-likelihood every ``verbose_interval`` iterations.
    verbose_interval : int, default 10

    Returns
    -------
    EMResult
    """
    X = as_data(X, n_features=theta0.n_features, min_samples=theta0.n_components)
    weight = as_sample_weight(sample_weight, X.shape[0])
    tol = check_non_negative_real(tol, "tol")
    reg_covar = check_non_negative_real(reg_covar, "reg_covar")
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    if stopping not in STOPPING_RULES:
        raise ValueError(f"stopping must be one of {list(STOPPING_RULES)}; got {stopping!r}.")
    verbose_interval = check_positive_int(verbose_interval, "verbose_interval")
    fixed = _check_fixed(fixed, theta0, theta0.covariance_type)
    total_weight = X.shape[0] if weight is None else weight.sum()
    # One shift for every iteration: the weighted mean of the data.
    shift = (X.mean(axis=0) if weight is None else weight @ X / total_weight)

    # The engine centres the data on `shift` chunk by chunk; see gmm._engine for why.
    tied_moments = None
    if theta0.covariance_type == "tied":
        tied_moments = centred_moments(X, shift, weight)

    theta = theta0
    history = [theta] if keep_history else None
    log_likelihoods = []
    lower_bound = -np.inf
    converged = False
    n_iter = 0
    start = time.perf_counter()
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is used after the loop)
        previous = lower_bound
        # E-step and the M-step's sufficient statistics, eqs. (responsibility) and
        # (sufficient-statistics); the same numbers as e_step + sufficient_statistics.
        log_likelihood, statistics = em_iteration(
            X, theta, shift, weight, total_weight, tied_moments
        )
        log_likelihoods.append(log_likelihood)
        theta = _parameters_from_statistics(statistics, reg_covar, fixed, theta0)
        _check_not_collapsed(theta, statistics, n_iter)
        if keep_history:
            history.append(theta)
        lower_bound = log_likelihood / total_weight
        change = lower_bound - previous
        if verbose >= 1 and n_iter % verbose_interval == 0:
            print(
                f"  Iteration {n_iter}\t time {time.perf_counter() - start:.2f} s\t "
                f"ln p(X) per point {lower_bound:.6f}\t change {change:.3g}",
                flush=True,
            )
        # Per point, as the rules' tol; the first entry is theta0's.
        if is_converged([value / total_weight for value in log_likelihoods[-3:]], tol,
                        stopping):
            converged = True
            break
    else:
        n_iter = max_iter
    # A last E-step, so that the responsibilities belong to the returned theta.
    log_resp = np.empty((X.shape[0], theta.n_components))
    log_likelihoods.append(
        em_iteration(X, theta, shift, weight, total_weight, tied_moments, log_resp,
                     with_statistics=False)[0]
    )
    return EMResult(theta, log_likelihoods, converged, n_iter, lower_bound, log_resp, history)
