"""When EM stops: the change of the per-point log-likelihood (scikit-learn's rule) and
Aitken's estimate of how far the log-likelihood still has to rise (chapter 7).

Both rules look only at the sequence ``l_0, l_1, ...`` of per-point log-likelihoods that EM
produces. Near a maximum EM converges linearly, ``l* - l_t ~ c a^t`` (eq.
:eq:`ch7-rise-ratio`), so the rises ``l_t - l_{t-1}`` shrink by the factor ``a`` per
iteration, and a small rise says only that EM is slow, not that it is close: the remaining
rise is ``(l_t - l_{t-1}) a / (1 - a)``, which is many rises when ``a`` is near 1. Aitken's
rule estimates ``a`` from the last two rises and stops on that estimate.
"""

from __future__ import annotations

import math
import types
from collections.abc import Sequence

__all__ = ["CONVERGED", "STOPPING_RULES", "aitken_remaining_rise", "is_converged"]

#: The rules :func:`gmm.em` and :class:`gmm.GaussianMixture` accept: ``"change"`` is
#: scikit-learn's (the default), ``"aitken"`` is :func:`aitken_remaining_rise` below ``tol``.
STOPPING_RULES = ("change", "aitken")

#: The book's setting for a fit run to convergence, keywords of :func:`gmm.em`,
#: :class:`gmm.GaussianMixture` and :func:`gmm.select_model`: Aitken's rule with at most
#: ``1e-8`` nats per point still to come (chapter 7 shows why the default rule is not
#: enough), and room for the slow climbs near a singularity. Read-only; use as
#: ``gmm.GaussianMixture(3, **gmm.CONVERGED)``.
CONVERGED = types.MappingProxyType({"tol": 1e-8, "stopping": "aitken", "max_iter": 5000})


def aitken_remaining_rise(values: Sequence[float]) -> float:
    """Aitken's estimate ``l_inf - l_t`` of the rise still to come, from the last three
    values ``l_{t-2}, l_{t-1}, l_t`` of a linearly converging sequence, eq. :eq:`ch7-aitken`
    (Böhning et al., 1994; McNicholas et al., 2010).

    With the rate estimate ``a = (l_t - l_{t-1}) / (l_{t-1} - l_{t-2})`` and
    ``l_inf = l_{t-1} + (l_t - l_{t-1}) / (1 - a)``, the estimate is
    ``(l_t - l_{t-1}) a / (1 - a)``.

    Parameters
    ----------
    values : sequence of float, length >= 3
        The sequence so far (only the last three are used).

    Returns
    -------
    float
        ``inf`` when there is no estimate because EM is speeding up (``a >= 1``, or a rise
        after a step with none): it may be leaving a plateau, so it must not stop. ``0``
        when the last two steps changed nothing. When the sequence did not rise in both
        steps (``a < 0`` or a fall: rounding at the maximum, or a step that ``reg_covar``
        made non-monotone), the size of the last change ``|l_t - l_{t-1}|``, the change rule.
    """
    if len(values) < 3:
        raise ValueError(
            f"Aitken's estimate needs the last three values of the sequence; got {len(values)}."
        )
    before, previous, last = (float(v) for v in values[-3:])
    rise, previous_rise = last - previous, previous - before
    if previous_rise == 0.0:
        return 0.0 if rise == 0.0 else math.inf
    rate = rise / previous_rise
    if rate < 0.0 or rise < 0.0:
        return abs(rise)
    if rate >= 1.0:
        return math.inf
    return rise * rate / (1.0 - rate)


def is_converged(values: Sequence[float], tol: float, rule: str = "change") -> bool:
    """Whether EM stops after the per-point log-likelihoods ``values`` (oldest first).

    ``"change"``: ``|l_t - l_{t-1}| < tol`` (eq. :eq:`ch7-stopping-rule`, scikit-learn's
    rule). ``"aitken"``: :func:`aitken_remaining_rise` ``< tol``, eq. :eq:`ch7-aitken`.
    Neither stops before it has the values it needs (two, three).

    Parameters
    ----------
    values : sequence of float
    tol : float
        In nats per point for both rules.
    rule : {"change", "aitken"}

    Returns
    -------
    bool
    """
    if rule == "change":
        return len(values) >= 2 and abs(float(values[-1]) - float(values[-2])) < tol
    if rule == "aitken":
        return len(values) >= 3 and aitken_remaining_rise(values) < tol
    raise ValueError(f"stopping must be one of {list(STOPPING_RULES)}; got {rule!r}.")
