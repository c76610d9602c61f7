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
