"""A small version of `make validate-stats` that runs in CI (about 10-30 s).

Each scenario simulates D = 1000 datasets with known truth and bootstraps them as the gate
does. Monte Carlo tolerance: with D datasets the number X of CIs that cover the truth is
Binomial(D, c). We fail when X is significantly (one-sided p < 0.001) below the band's lower
edge 93.5% or above its upper edge 96.5%: for D = 1000 that accepts 910 <= X <= 982. Error
rates are bounded by the nominal 2.5% (one bound of a two-sided 95% CI) the same way:
X <= 42 of 1000. These bounds are wide enough for Monte Carlo error yet the naive (item-level)
bootstrap on clustered data fails them (checked below), so the test can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from evalcliff.dev.validation import Scenario, draw, run_scenario
from evalcliff.stats import paired_bootstrap

D, B, MARGIN, CONF = 1000, 2000, 0.02, 0.95
P_TAIL = 0.001


def _coverage_bounds() -> tuple[int, int]:
    lo = int(binom.ppf(P_TAIL, D, 0.935))
    hi = int(binom.isf(P_TAIL, D, 0.965))
    return lo, hi


def _rate_bound(nominal: float = 0.025) -> int:
    return int(binom.isf(P_TAIL, D, nominal))


def test_bounds_are_what_the_docstring_says() -> None:
    assert _coverage_bounds() == (910, 982)
    assert _rate_bound() == 42


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(400, 1, 0.5, 0.1, 0.0),
        Scenario(400, 1, 0.8, 0.1, -0.05),
        Scenario(600, 10, 0.5, 0.3, 0.0),  # 60 clusters, intra-cluster correlation 0.5
        Scenario(600, 10, 0.3, 0.3, -0.15),
    ],
    ids=str,
)
def test_coverage_within_band(scenario: Scenario) -> None:
    out = run_scenario(scenario, D, B, CONF, seed=7)
    hits = int(out.covered("percentile").sum())
    lo, hi = _coverage_bounds()
    assert lo <= hits <= hi, f"coverage {hits}/{D} for {scenario}"
    if scenario.delta == 0.0:
        assert int(out.no_go("percentile", MARGIN).sum()) <= _rate_bound()


def test_error_rates_at_the_margin() -> None:
    # True delta = -margin: GO (pass) is wrong; NO-GO is wrong in the other direction.
    out = run_scenario(Scenario(2000, 1, 0.5, 0.1, -MARGIN), D, B, CONF, seed=8)
    assert int(out.go("percentile", MARGIN).sum()) <= _rate_bound()
    assert int(out.no_go("percentile", MARGIN).sum()) <= _rate_bound()


def test_the_bounds_catch_an_invalid_interval() -> None:
    # The same clustered data bootstrapped as if items were independent: too narrow.
    sc = Scenario(600, 10, 0.5, 0.3, 0.0)
    rng = np.random.default_rng(9)
    hits = 0
    for _ in range(D // 4):
        data = draw(sc, rng)
        res = paired_bootstrap(data.diffs, None, 500, CONF, rng)
        hits += res.ci_low <= 0.0 <= res.ci_high
    lo, _ = _coverage_bounds()
    assert hits / (D // 4) < lo / D
