"""items_needed: the normal-approximation sample size for an undecided slice."""

from __future__ import annotations

import pytest

from evalcliff.stats import items_needed


def test_hand_computed_case() -> None:
    # z = 1.959964 + 0.841621 = 2.801585; n_req = (2.801585 * 0.3 / 0.01)^2 = 7063.99
    assert items_needed(-0.01, 0.09, 1000, 0.02) == 7064 - 1000
    assert items_needed(-0.01, 0.09, 0, 0.02) == 7064


def test_failing_side_uses_the_distance_to_the_margin() -> None:
    # delta = -0.03 with margin 0.02 is as far from -m as delta = -0.01.
    assert items_needed(-0.03, 0.09, 1000, 0.02) == items_needed(-0.01, 0.09, 1000, 0.02)


def test_binary_variance_is_discordance_minus_delta_squared() -> None:
    regress, improve = 0.08, 0.05
    delta = improve - regress
    var = (regress + improve) - delta**2
    n = items_needed(delta, var, 200, 0.05, confidence=0.95, power=0.8)
    assert n == pytest.approx((2.801585 * var**0.5 / 0.02) ** 2 - 200, abs=1.5)


def test_enough_items_already_gives_zero() -> None:
    assert items_needed(-0.01, 0.09, 100_000, 0.02) == 0


def test_undecidable_cases_give_none() -> None:
    assert items_needed(-0.02, 0.09, 100, 0.02) is None
    assert items_needed(-0.01, 0.0, 100, 0.02) is None


def test_more_power_or_confidence_needs_more_items() -> None:
    base = items_needed(-0.01, 0.09, 0, 0.02)
    assert base is not None
    more_power = items_needed(-0.01, 0.09, 0, 0.02, power=0.9)
    more_conf = items_needed(-0.01, 0.09, 0, 0.02, confidence=0.99)
    assert more_power is not None and more_power > base
    assert more_conf is not None and more_conf > base
