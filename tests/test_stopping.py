"""Stopping rules (gmm/stopping.py) against their formulas: Aitken's estimate is exact on a
geometric sequence (the model it is built on), and each rule's edge cases."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmm.stopping import aitken_remaining_rise, is_converged


@given(
    limit=st.floats(-1e3, 1e3),
    scale=st.floats(1e-3, 1e3),
    rate=st.floats(0.01, 0.99),
    t=st.integers(2, 40),
)
def test_aitken_is_exact_on_a_geometric_sequence(limit, scale, rate, t):
    # l_s = limit - scale * rate^s: the rises shrink by `rate`, the remaining rise after
    # l_t is scale * rate^t, written here without the estimate's formula.
    values = [limit - scale * rate**s for s in range(t - 2, t + 1)]
    remaining = scale * rate**t
    assert aitken_remaining_rise(values) == pytest.approx(remaining, rel=1e-6,
                                                          abs=1e-9 * (abs(limit) + scale))


def test_aitken_refuses_to_estimate_when_em_speeds_up():
    assert aitken_remaining_rise([0.0, 1.0, 3.0]) == math.inf  # rate 2: leaving a plateau
    assert aitken_remaining_rise([0.0, 1.0, 2.0]) == math.inf  # rate 1: no geometric decay
    assert aitken_remaining_rise([1.0, 1.0, 2.0]) == math.inf  # a rise after none
    assert aitken_remaining_rise([5.0, 2.0, 2.0, 2.0]) == 0.0  # nothing moves
    # Not rising in both steps: the size of the last change.
    assert aitken_remaining_rise([0.0, 1.0, 0.75]) == pytest.approx(0.25)
    assert aitken_remaining_rise([0.0, -1.0, -0.5]) == pytest.approx(0.5)
    assert aitken_remaining_rise([0.0, -1.0, -1.5]) == pytest.approx(0.5)  # two falls
    with pytest.raises(ValueError, match="last three"):
        aitken_remaining_rise([1.0, 2.0])


def test_change_rule_is_the_absolute_change():
    assert not is_converged([-3.0], 1e-3)
    assert is_converged([-3.0, -2.0, -1.9995], 1e-3)
    assert not is_converged([-3.0, -2.0, -1.998], 1e-3)
    assert is_converged([-1.0, -1.0005], 1e-3)  # the size of the change, a fall included


def test_aitken_rule_stops_on_the_estimate_not_on_the_rise():
    # Rises 0.1, 0.099: small steps, but the rate 0.99 leaves 9.8 to come.
    slow = [0.0, 0.1, 0.199]
    assert is_converged(slow, 0.2, rule="change")
    assert not is_converged(slow, 0.2, rule="aitken")
    # Rises 1, 0.01: a large step, but the rate 0.01 leaves 0.0001.
    fast = [0.0, 1.0, 1.01]
    assert not is_converged(fast, 1e-3, rule="change")
    assert is_converged(fast, 1e-3, rule="aitken")
    assert not is_converged([0.0, 1.0], 1e3, rule="aitken")  # needs three values
    with pytest.raises(ValueError, match="stopping must be one of"):
        is_converged(fast, 1e-3, rule="relative")
