"""Online (stepwise) EM: the sufficient statistics as a stochastic approximation (chapter 9).

Batch EM is a fixed-point iteration on the normalised statistics
``s = (1/N) sum_n E[t(x_n, z_n) | x_n, theta]`` (``t`` the per-point statistics of eq.
:eq:`sufficient-statistics`): ``theta = M(s)``, then ``s`` recomputed over all the data.
Stepwise EM (Cappé and Moulines, 2009; Liang and Klein, 2009) replaces the sum over all the
data by the batch at hand and moves ``s`` a step towards it,

    ``s_t = (1 - eta_t) s_(t-1) + eta_t s_hat(B_t; theta_(t-1))``,  ``theta_t = M(s_t)``

(eq. :eq:`stepwise-update`), with ``eta_t = (t + t_0)^(-rho)`` (eq.
:eq:`stepwise-step-size`); ``0.5 < rho <= 1`` makes ``sum eta_t`` infinite and
``sum eta_t^2`` finite, the Robbins-Monro conditions. Polyak-Ruppert averaging
(eq. :eq:`stepwise-average`) reports ``M`` of the running mean of the ``s_t`` instead.

Everything is written on :class:`gmm.SufficientStatistics`: a step is a scaling and one
addition (the shifted merge), so the statistics stay centred as in the batch engine.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .blocks import block_em_statistics
from .mixture import Mixture
from .mstep import SufficientStatistics, _parameters_from_statistics

__all__ = [
    "OnlineState",
    "step_size",
    "scaled_statistics",
    "stepwise_update",
    "batch_statistics",
    "start_online",
    "online_step",
]


@dataclasses.dataclass(frozen=True)
class OnlineState:
    """Where stepwise EM stands after ``n_steps`` batches (the first one is step 0).

    Attributes
    ----------
    statistics : SufficientStatistics
        ``s_t``, normalised to one unit of weight (``n_samples == 1``).
    averaged : SufficientStatistics or None
        The running mean of ``s_0 .. s_t`` when averaging.
    mixture : Mixture
        ``theta_t = M(s_t)``, the parameters of the next E-step.
    averaged_mixture : Mixture or None
        ``M`` of the running mean: the reported parameters when averaging.
    n_steps : int
    n_rows_seen : float
        ``sum`` of the batches' weights.
    log_likelihoods : list of float
        Per-point ``ln p(B_t | theta_(t-1))`` of every batch, before its step.
    """

    statistics: SufficientStatistics
    averaged: SufficientStatistics | None
    mixture: Mixture
    averaged_mixture: Mixture | None
    n_steps: int
    n_rows_seen: float
    log_likelihoods: list


def step_size(step: int, exponent: float, offset: float) -> float:
    """``eta_t = (t + t_0)^(-rho)``, eq. :eq:`stepwise-step-size` (``eta_0 = 1``: the first
    batch's statistics replace the empty start)."""
    if step == 0:
        return 1.0
    return float((step + offset) ** -exponent)


def scaled_statistics(statistics: SufficientStatistics, factor: float) -> SufficientStatistics:
    """``factor`` times every statistic."""
    return SufficientStatistics(
        counts=statistics.counts * factor,
        centred_sums=statistics.centred_sums * factor,
        centred_second_moments=statistics.centred_second_moments * factor,
        shift=statistics.shift,
        n_samples=statistics.n_samples * factor,
        covariance_type=statistics.covariance_type,
    )


def stepwise_update(running: SufficientStatistics, new: SufficientStatistics,
                    step: float) -> SufficientStatistics:
    """``(1 - eta) s + eta s_hat``, eq. :eq:`stepwise-update`, centred on ``new``'s shift
    (so the shift follows a drifting stream)."""
    return scaled_statistics(new, step) + scaled_statistics(running, 1.0 - step)


def batch_statistics(batch: np.ndarray, weight, theta: Mixture):
    """``(ln p(B | theta) / |B|, s_hat(B; theta))``: a batch's per-point log-likelihood and
    its statistics normalised to one unit of weight."""
    log_likelihood, statistics = block_em_statistics(batch, weight, 0, theta)
    total = statistics.n_samples
    return log_likelihood / total, scaled_statistics(statistics, 1.0 / total)


def _parameters(statistics, reg_covar, current):
    return _parameters_from_statistics(statistics, reg_covar, frozenset(), current)


def start_online(batch, weight, theta0: Mixture, reg_covar: float,
                 averaging: bool = False) -> OnlineState:
    """Step 0: ``s_0 = s_hat(B_0; theta_0)`` and ``theta = M(s_0)``."""
    return online_step(None, batch, weight, reg_covar, 1.0, 1.0, averaging, theta0)


def online_step(state: OnlineState | None, batch, weight, reg_covar: float,
                exponent: float, offset: float, averaging: bool = False,
                theta0: Mixture | None = None) -> OnlineState:
    """One stepwise-EM step on ``batch`` (shape ``(n, D)``, weights ``(n,)`` or None)."""
    theta = theta0 if state is None else state.mixture
    step = 0 if state is None else state.n_steps
    log_likelihood, new = batch_statistics(batch, weight, theta)
    if state is None:
        statistics = new
    else:
        statistics = stepwise_update(state.statistics, new,
                                     step_size(step, exponent, offset))
    averaged = None
    if averaging:
        averaged = (statistics if state is None
                    else stepwise_update(state.averaged, statistics, 1.0 / (step + 1)))
    mixture = _parameters(statistics, reg_covar, theta)
    averaged_mixture = _parameters(averaged, reg_covar, theta) if averaging else None
    seen = (0.0 if state is None else state.n_rows_seen) + (
        batch.shape[0] if weight is None else float(np.sum(weight))
    )
    history = ([] if state is None else state.log_likelihoods) + [log_likelihood]
    return OnlineState(statistics, averaged, mixture, averaged_mixture, step + 1, seen,
                       history)


def reported_mixture(state: OnlineState) -> Mixture:
    """The parameters to report: the averaged ones when averaging, else ``theta_t``."""
    return state.mixture if state.averaged_mixture is None else state.averaged_mixture
