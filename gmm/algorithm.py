"""The EM loop, written once: E-step, M-step, until the log-likelihood stops rising."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ._engine import (
    _OneBlasThread,
    centred_moments,
    data_shift,
    e_step_chunked,
    em_iteration,
)
from ._validation import (
    as_data,
    as_sample_weight,
    check_non_negative_real,
    check_positive_int,
)
from .criteria import COLLAPSE_RTOL, relative_variances
from .exceptions import ComponentCollapseError
from .mixture import Mixture
from .mstep import _check_fixed, _parameters_from_statistics
from .prior import default_reg_covar, log_prior, resolve_prior
from .stopping import STOPPING_RULES, is_converged

__all__ = ["EMResult", "em", "em_loop", "e_step"]

def _check_not_collapsed(theta: Mixture, statistics, iteration: int) -> None:
    """Raise :class:`ComponentCollapseError` if a component of ``theta`` has collapsed
    relative to the data's spread (read off the statistics of the same iteration)."""
    kind = theta.kind
    spread = kind.pooled_second_moments(statistics.centred_second_moments) / statistics.n_samples
    if kind.surely_above(np.asarray(theta.covariances), spread, COLLAPSE_RTOL):
        return
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
        E-step, i.e. ``log_likelihoods[-2] / N``; with a prior the per-point log posterior
        ``log_posteriors[-2] / N``.
    log_resp : ndarray, shape (N, K), or None
        Log-responsibilities under the final ``theta`` (None with ``keep_log_resp=False``).
    history : list of Mixture or None
        ``theta^(0) .. theta^(n_iter)`` when asked for with ``keep_history``.
    labels : ndarray of int, shape (N,)
        The most responsible component of every point under the final ``theta``.
    lower_bounds : list of float
        The per-point log-likelihood of each of the ``n_iter`` E-steps that preceded an
        M-step (scikit-learn's ``lower_bounds_``); the last is ``lower_bound``. With a
        prior, of the per-point log posterior.
    log_posteriors : list of float or None
        With a prior: ``ln p(X | theta^(t)) + ln p(theta^(t))`` for ``t = 0 .. n_iter``,
        the objective EM then maximises and never decreases (chapter 8,
        eq. :eq:`map-objective`); ``None`` without a prior.
    """

    mixture: Mixture
    log_likelihoods: list
    converged: bool
    n_iter: int
    lower_bound: float
    log_resp: np.ndarray | None
    history: list | None = None
    labels: np.ndarray | None = None
    lower_bounds: list = dataclasses.field(default_factory=list)
    log_posteriors: list | None = None


def e_step(X, theta: Mixture):
    """The E-step: ``ln p(x_n)`` (shape ``(N,)``) and ``ln gamma(z_nk)`` (shape ``(N, K)``)
    under ``theta`` (eqs. :eq:`mixture-density` and :eq:`responsibility`), by the same
    engine as :func:`em` and the estimator.

    Parameters
    ----------
    X : array_like, shape (N, D)
    theta : Mixture

    Returns
    -------
    log_marginal : ndarray, shape (N,)
    log_resp : ndarray, shape (N, K)
    """
    if not isinstance(theta, Mixture):
        raise ValueError(f"theta must be a gmm.Mixture; got {type(theta).__name__}.")
    X = as_data(X, n_features=theta.n_features)
    out = e_step_chunked(X, theta, log_resp=True, log_marginal=True)
    return out["log_marginal"], out["log_resp"]


def em(
    X,
    theta0: Mixture,
    *,
    tol: float = 1e-3,
    max_iter: int = 100,
    reg_covar: float | None = None,
    stopping: str = "change",
    sample_weight=None,
    fixed=(),
    keep_history: bool = False,
    verbose: int = 0,
    verbose_interval: int = 10,
    keep_log_resp: bool = True,
    previous_lower_bound: float = -np.inf,
    prior=None,
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
    reg_covar : float or None, default None
        Added to the diagonal of every covariance. ``None`` means 1e-6 without a prior and
        0 with one (the prior already bounds every covariance below, chapter 8).
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
    keep_log_resp : bool, default True
        Keep the final ``(N, K)`` log-responsibilities in ``EMResult.log_resp``; False keeps
        only the labels (memory ``O(N)``).
    previous_lower_bound : float, default -inf
        The per-point log-likelihood before ``theta0`` (a warm start continues a fit: its
        first change is measured from there, as scikit-learn does).
    prior : None, "default" or ConjugatePrior, optional
        MAP-EM (chapter 8): the M-step maximises ``Q + ln p(theta)``, the stopping rule
        and ``lower_bound`` use the per-point log posterior
        ``(ln p(X | theta) + ln p(theta)) / N``, and ``log_posteriors`` records it.
        ``"default"`` is mclust's default prior for ``X``
        (:meth:`gmm.ConjugatePrior.default`).

    Returns
    -------
    EMResult

    Raises
    ------
    gmm.exceptions.ComponentCollapseError
        When a component collapses (see :func:`gmm.criteria.relative_variances`).
    """
    X = as_data(X, n_features=theta0.n_features, min_samples=theta0.n_components)
    weight = as_sample_weight(sample_weight, X.shape[0])
    tol = check_non_negative_real(tol, "tol")
    prior = resolve_prior(prior, X, theta0.n_components, theta0.covariance_type, weight)
    reg_covar = check_non_negative_real(default_reg_covar(reg_covar, prior), "reg_covar")
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    if stopping not in STOPPING_RULES:
        raise ValueError(f"stopping must be one of {list(STOPPING_RULES)}; got {stopping!r}.")
    verbose_interval = check_positive_int(verbose_interval, "verbose_interval")
    verbose = check_positive_int(verbose, "verbose", minimum=0)
    fixed = _check_fixed(fixed, theta0, theta0.covariance_type)
    total_weight = float(X.shape[0] if weight is None else weight.sum())
    # BLAS at one thread for the whole fit, not only during the passes: a threaded BLAS
    # call between them (the data's centre, a product with ones) leaves OpenBLAS's threads
    # spinning for about 0.1 s, on the cores the engine's threads then need (200k x 8 x 10
    # diag: the first iterations took 38-42 ms against 21-23 ms for the later ones).
    with _OneBlasThread():
        # One shift for every iteration: the weighted mean of the data.
        shift = data_shift(X, weight)

        # The engine centres the data on `shift` chunk by chunk; see gmm._engine for why.
        tied_moments = None
        if theta0.kind.statistics_layout == "pooled":  # constant across iterations
            tied_moments = centred_moments(X, shift, weight)

        def e_pass(theta):  # eqs. (responsibility) and (sufficient-statistics), chunk by chunk
            return em_iteration(X, theta, shift, weight, total_weight, tied_moments)

        loop = em_loop(e_pass, theta0, tol=tol, max_iter=max_iter,
                       reg_covar=reg_covar, stopping=stopping, fixed=fixed, prior=prior,
                       keep_history=keep_history, verbose=verbose,
                       verbose_interval=verbose_interval,
                       previous_lower_bound=previous_lower_bound)
        theta = loop.mixture
        # A last E-step, so that the responsibilities and labels belong to the returned theta;
        # by the formulation that predict uses, so that fit_predict and predict agree. Only
        # what is asked for: ln p(X), the labels, the (N, K) log-responsibilities if kept.
        log_resp = np.empty((X.shape[0], theta.n_components)) if keep_log_resp else None
        labels = np.empty(X.shape[0], dtype=np.intp)
        loop.log_likelihoods.append(
            em_iteration(X, theta, shift, weight, total_weight, tied_moments, log_resp,
                         with_statistics=False, labels_out=labels, formulation="accurate")[0]
        )
    if prior is not None:
        loop.log_posteriors.append(loop.log_likelihoods[-1] + log_prior(theta, prior))
    return dataclasses.replace(loop, log_resp=log_resp, labels=labels)


def em_loop(e_pass, theta0: Mixture, *, tol, max_iter, reg_covar,
            stopping="change", fixed=frozenset(), prior=None, keep_history=False, verbose=0,
            verbose_interval=10, previous_lower_bound=-np.inf) -> EMResult:
    """The EM iterations, whatever holds the data: ``e_pass(theta)`` returns
    ``ln p(X | theta)`` and the sufficient statistics of the responsibilities under
    ``theta`` (eq. :eq:`sufficient-statistics`), from an array in memory (:func:`em`) or
    summed over row blocks (:func:`gmm.blocks.em_blocks`).

    Parameters
    ----------
    e_pass : callable
        ``theta -> (log_likelihood, SufficientStatistics)``.
    theta0 : Mixture
    tol, max_iter, reg_covar, stopping, fixed, prior, keep_history, verbose,
    verbose_interval, previous_lower_bound
        As in :func:`em` (validated by the caller; ``fixed`` a frozenset).

    Returns
    -------
    EMResult
        Without the last E-step: ``log_likelihoods`` (and ``log_posteriors``) end at
        ``theta^(n_iter - 1)``; ``log_resp`` and ``labels`` are None. The caller adds the
        final pass under the returned ``theta``.
    """
    theta = theta0
    history = [theta] if keep_history else None
    log_likelihoods = []
    log_posteriors = None if prior is None else []
    objective_name = "ln p(X)" if prior is None else "log posterior"
    lower_bound = lower_bound_before = float(previous_lower_bound)
    lower_bounds = []
    converged = False
    n_iter = 0
    start = time.perf_counter()
    for n_iter in range(1, max_iter + 1):
        previous = lower_bound
        log_likelihood, statistics = e_pass(theta)
        log_likelihood = float(log_likelihood)
        log_likelihoods.append(log_likelihood)
        objective = log_likelihood
        if prior is not None:
            objective += log_prior(theta, prior)
            log_posteriors.append(objective)
        try:
            theta = _parameters_from_statistics(statistics, reg_covar, fixed, theta0,
                                                prior)
        except ComponentCollapseError as error:  # a covariance not positive definite
            raise ComponentCollapseError(
                f"At EM iteration {n_iter}: {error}", component=error.component,
                iteration=n_iter,
            ) from None
        _check_not_collapsed(theta, statistics, n_iter)
        if keep_history:
            history.append(theta)
        lower_bound = objective / statistics.n_samples  # per point: sum_n w_n
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        if verbose >= 1 and n_iter % verbose_interval == 0:
            print(
                f"  Iteration {n_iter}\t time {time.perf_counter() - start:.2f} s\t "
                f"{objective_name} per point {lower_bound:.6f}\t change {change:.3g}",
                flush=True,
            )
        # Per point, as the rules' tol (the log posterior under a prior). A warm start
        # continues the previous fit's sequence (scikit-learn's warm_start).
        recent = ([lower_bound_before] if np.isfinite(lower_bound_before) else []) + lower_bounds
        if is_converged(recent[-3:], tol, stopping):
            converged = True
            break
    else:
        n_iter = max_iter
    return EMResult(theta, log_likelihoods, converged, n_iter, lower_bound, None, history,
                    None, lower_bounds, log_posteriors)
