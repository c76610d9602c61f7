"""The control chart's calibration: its variance formula, false-alarm rate on stable weeks and
detection delays (a smaller version of `python -m evalcliff.drift.simulate`)."""

from __future__ import annotations

import numpy as np

from evalcliff.drift.control import DEFAULT_CHART, EwmaChart, standardize
from evalcliff.drift.simulate import calibration_table


def test_sd_formula_matches_correlated_weeks() -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal((20000, 1))
    z = (rng.standard_normal((20000, 12)) - base) / np.sqrt(2)  # weeks share a baseline
    chart = EwmaChart(lam=0.25, limit=3.0, rho=0.5)
    ewma, _, _ = chart.run(z)
    np.testing.assert_allclose(ewma.std(axis=0), chart.sd(12), rtol=0.03)


def test_standardize_handles_zero_noise() -> None:
    z = standardize(np.array([0.0, -0.01, 0.02, -0.5]), np.array([0.0, 0.0, 0.01, 0.01]))
    assert z.tolist() == [0.0, -10.0, 2.0, -10.0]


def test_false_alarm_rate_and_delays_as_stated() -> None:
    table = calibration_table(histories=400, weeks=52, items=400, margin=0.05, seed=7)
    stable = table["stable"]
    # README: 0.34% of stable slice-weeks alarm, 1.6% of slices alarm at all within a year
    assert stable["chart_alarm_per_week"] < 0.01
    assert stable["chart_any_alarm_in_horizon"] < 0.05
    decline = table["decline_0.5pt_per_week"]
    assert decline["chart_median_weeks"] <= 8 and decline["chart_p90_weeks"] <= 11
    assert decline["gate_median_weeks"] > decline["chart_median_weeks"]
    assert table["step_5pt_at_week_5"]["chart_median_weeks"] <= 3
    assert DEFAULT_CHART.lam == 0.25 and DEFAULT_CHART.limit == 2.75  # what was calibrated


def test_pipeline_check_runs_through_drift_review() -> None:
    from evalcliff.drift.simulate import pipeline_check

    row = pipeline_check(histories=2, weeks=4, items=100, margin=0.05)
    assert set(row) == {"chart_alarm_per_week", "chart_any_alarm_in_horizon"}
    assert 0.0 <= row["chart_alarm_per_week"] <= 1.0
