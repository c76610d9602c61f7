"""Group-sequential non-inferiority: published boundaries, and error rates by simulation."""

from __future__ import annotations

import pytest

from evalcliff.stats.sequential import (
    boundaries,
    decide_look,
    sequential_plan,
    simulate_sequential,
)


def test_one_look_is_the_fixed_n_test() -> None:
    assert boundaries(1)[0] == pytest.approx(1.95996, abs=1e-4)


def test_four_looks_match_obrien_fleming() -> None:
    # Jennison & Turnbull, O'Brien-Fleming, K = 4, one-sided 0.025
    assert boundaries(4) == pytest.approx([4.048, 2.862, 2.337, 2.024], abs=0.02)


def test_decide_look() -> None:
    assert decide_look([0.0] * 50, 0.02, 1, 4) == "pass"  # no spread, above the margin
    assert decide_look([-1.0] * 50, 0.02, 1, 4) == "fail"
    mixed = [1.0, -1.0] * 20 + [0.0] * 60
    assert decide_look(mixed, 0.02, 1, 4) == "continue"
    assert decide_look(mixed, 0.02, 4, 4) == "inconclusive"
    with pytest.raises(ValueError):
        decide_look(mixed, 0.02, 5, 4)


@pytest.mark.parametrize(("flip", "margin"), [(0.05, 0.02), (0.10, 0.05)])
def test_error_rates_and_items_saved(flip: float, margin: float) -> None:
    plan = sequential_plan(margin, flip, 4)
    assert 1.0 < plan.inflation < 1.05 and plan.max_items >= plan.fixed_items
    reps = 4000  # Monte Carlo SE of a 2.5% rate: 0.25 points
    on_margin = simulate_sequential(margin, flip, -margin, plan.max_items, 4, reps, seed=3)
    fixed = simulate_sequential(margin, flip, -margin, plan.fixed_items, 1, reps, seed=3)
    # false GO: the normal test on 0/1 differences runs a little over its 2.5% at these
    # sizes (discreteness); looking four times adds nothing beyond Monte Carlo error
    assert on_margin.p_pass <= 0.05 and fixed.p_pass <= 0.05
    assert on_margin.p_pass <= fixed.p_pass + 3 * 0.0025
    null = simulate_sequential(margin, flip, 0.0, plan.max_items, 4, reps, seed=4)
    assert null.p_pass == pytest.approx(0.8, abs=0.04)  # planned power
    assert null.p_fail <= 0.025 + 3 * 0.0025  # false NO-GO
    assert null.mean_items < 0.9 * plan.fixed_items  # stops early when clearly fine
    bad = simulate_sequential(margin, flip, -2 * margin, plan.max_items, 4, reps, seed=5)
    assert bad.p_fail > 0.8 and bad.mean_items < 0.9 * plan.fixed_items


def test_plan_cli_prints_the_sequential_design() -> None:
    import json

    from click.testing import CliRunner

    from evalcliff.cli.plan import command

    res = CliRunner().invoke(
        command, ["--margin", "0.02", "--flip-rate", "0.05", "--looks", "4", "--json"]
    )
    assert res.exit_code == 0, res.output
    seq = json.loads(res.output)["sequential"]
    assert seq["max_items"] == 1008 and seq["items_per_look"] == 252
    assert seq["z_bounds"] == pytest.approx([4.048, 2.862, 2.337, 2.024], abs=0.02)
    plain = CliRunner().invoke(command, ["--margin", "0.02", "--flip-rate", "0.05"])
    assert "sequential" not in plain.output  # opt-in


def test_boundary_in_information_time() -> None:
    import numpy as np

    from evalcliff.stats.sequential import boundary_at, boundary_level

    c = boundaries(4)
    for k in range(1, 5):
        assert boundary_at(k / 4, 4) == pytest.approx(c[k - 1])
    assert boundary_at(1.0, 4) == pytest.approx(2.024, abs=0.02)  # the final bound, C
    assert boundary_at(0.3, 4) > boundary_at(0.6, 4)
    assert boundary_level(1.959964) == pytest.approx(0.95, abs=1e-5)
    with pytest.raises(ValueError):
        boundary_at(0.0, 4)
    assert np.isfinite(boundary_at(1e-3, 4))


def test_cluster_robust_se_reduces_to_the_plain_one() -> None:
    import numpy as np

    from evalcliff.stats.sequential import cluster_mean_se

    rng = np.random.default_rng(0)
    d = rng.choice([-1.0, 0.0, 1.0], size=200, p=[0.1, 0.8, 0.1])
    mean, se = cluster_mean_se(d)
    assert mean == pytest.approx(d.mean()) and se == pytest.approx(d.std(ddof=1) / np.sqrt(200))
    assert cluster_mean_se(d, [f"c{i}" for i in range(200)])[1] == pytest.approx(se)
    # perfectly correlated pairs: the information of 100 items, not 200
    pairs = np.repeat(d[:100], 2)
    _, se_items = cluster_mean_se(pairs)
    _, se_pairs = cluster_mean_se(pairs, np.repeat(np.arange(100), 2))
    assert se_pairs == pytest.approx(se_items * np.sqrt(2), rel=0.02)
    assert cluster_mean_se([0.5, -0.5], ["a", "a"])[1] == 0.0  # one cluster: no spread


def test_repeated_interval_passes_exactly_when_decide_look_does() -> None:
    import numpy as np

    from evalcliff.stats.sequential import boundary_at, repeated_interval

    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(20, 300))
        d = rng.choice([-1.0, 0.0, 1.0], size=n, p=[0.08, 0.88, 0.04])
        look = int(rng.integers(1, 5))
        _, lo, hi = repeated_interval(d, None, boundary_at(look / 4, 4))
        got = decide_look(d, 0.02, look, 4)
        assert (lo > -0.02) == (got == "pass") and (hi < -0.02) == (got == "fail")
