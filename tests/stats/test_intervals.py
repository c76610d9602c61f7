"""Percentile and BCa intervals; BCa agrees with scipy's on the same kind of data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap

from evalcliff.stats import paired_bootstrap
from evalcliff.stats.intervals import acceleration, bca_interval, bias_correction


def test_bca_matches_scipy_on_skewed_data() -> None:
    rng = np.random.default_rng(0)
    x = rng.exponential(size=80) - 1.0
    ours = paired_bootstrap(x, None, 20_000, 0.95, seed=1, method="bca")
    ref = bootstrap((x,), np.mean, n_resamples=20_000, method="BCa", rng=np.random.default_rng(2))
    width = ours.ci_high - ours.ci_low
    assert ours.ci_low == pytest.approx(ref.confidence_interval.low, abs=0.05 * width)
    assert ours.ci_high == pytest.approx(ref.confidence_interval.high, abs=0.05 * width)
    pct = paired_bootstrap(x, None, 20_000, 0.95, seed=1)
    assert ours.ci_high > pct.ci_high  # right skew: BCa shifts the interval up


def test_bias_correction_counts_ties_half() -> None:
    reps = np.array([0.0, 1.0, 1.0, 2.0])
    assert bias_correction(reps, 1.0) == pytest.approx(0.0)


def test_acceleration_zero_for_symmetric_jackknife() -> None:
    assert acceleration(np.array([-1.0, 0.0, 1.0])) == pytest.approx(0.0)
    assert acceleration(np.zeros(5)) == 0.0


def test_bca_falls_back_to_percentile_when_every_replicate_is_on_one_side() -> None:
    reps = np.linspace(1.0, 2.0, 101)
    assert bca_interval(reps, 0.0, np.array([0.1, 0.2]), 0.9) == pytest.approx((1.05, 1.95))


def test_method_is_validated() -> None:
    with pytest.raises(ValueError):
        paired_bootstrap(np.array([0.0, 1.0]), None, 10, 0.95, seed=0, method="basic")  # type: ignore[arg-type]
