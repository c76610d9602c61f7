"""The sequential gate: its per-look decision validated by simulation like the fixed-n gate,
and stored sequential runs judged by repeated CIs, never by fixed-n bootstrap CIs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy, compare_runs
from evalcliff.gate.noninferiority import slice_settings
from evalcliff.gate.sequential import look_decision
from evalcliff.gate.slices import SliceSettings, slice_row
from evalcliff.schema.run import SequentialDesign, SequentialSlice
from evalcliff.stats.sequential import boundary_at, cluster_mean_se, sequential_plan

POLICY = Policy(n_resamples=1000)
LOOKS = 4


def _settings(margin: float) -> SliceSettings:
    return SliceSettings(
        margin=margin, limit=0.05, max_error_rate=0.02, min_base_score=0.05, weight=1.0
    )


def paired_frame(
    diffs: np.ndarray, rng: np.random.Generator, cluster_size: int = 1, name: str = "s"
) -> pd.DataFrame:
    """A `pair_runs`-shaped frame for one slice: 0/1 scores whose cand - base is `diffs`
    (base right where an item got worse, wrong where it got better, else right with p 0.6)."""
    n = len(diffs)
    base = np.where(diffs < 0, 1.0, np.where(diffs > 0, 0.0, (rng.random(n) < 0.6) * 1.0))
    cand = base + diffs
    ids = [f"{name}/{i:05d}" for i in range(n)]
    return pd.DataFrame(
        {
            "item_id": ids,
            "base_position": np.arange(n),
            "slice": name,
            "stratum": "all",
            "cluster_id": [f"{name}/c{i // cluster_size}" for i in range(n)],
            "score_base": base,
            "score_cand": cand,
            "correct_base": base > 0.5,
            "correct_cand": cand > 0.5,
            "catastrophic_base": False,
            "catastrophic_cand": False,
            "error_base": False,
            "error_cand": False,
        }
    )


def draw_diffs(
    rng: np.random.Generator, n: int, flip: float, delta: float, cluster_size: int = 1
) -> np.ndarray:
    """Per-item differences: down with p (f - d) / 2, up with p (f + d) / 2. With clusters,
    every item copies its cluster's first draw with probability 1/2 (intra-cluster
    correlation about 0.5), which a per-item se would ignore."""
    down, up = (flip - delta) / 2, (flip + delta) / 2
    u = rng.random(n)
    d = np.where(u < down, -1.0, np.where(u < down + up, 1.0, 0.0))
    if cluster_size > 1:
        first = np.repeat(d[::cluster_size], cluster_size)[:n]
        d = np.where(rng.random(n) < 0.5, first, d)
    return d


@dataclass(frozen=True)
class Outcome:
    p_pass: float
    p_fail: float
    mean_items: float
    mean_look: float


def simulate(
    delta: float, reps: int, n_max: int, margin: float, flip: float, seed: int,
    cluster_size: int = 1, looks: int = LOOKS,
) -> Outcome:  # fmt: skip
    """Run `look_decision` look by look over `reps` simulated slices of up to `n_max` items in
    `looks` equal looks (whole clusters), as `report --sequential` does; one look is the
    fixed-n gate with normal CIs on the same simulated data."""
    rng = np.random.default_rng(seed)
    settings = _settings(margin)
    step = n_max // looks
    passed = failed = 0
    items = looks_used = 0
    for _ in range(reps):
        frame = paired_frame(draw_diffs(rng, n_max, flip, delta, cluster_size), rng, cluster_size)
        for k in range(1, looks + 1):
            n = step * k
            c = boundary_at(n / n_max, looks, POLICY.confidence)
            d = look_decision(frame.iloc[:n], settings, POLICY, c, final=k == looks)
            if d.decision != "continue":
                break
        passed += d.decision == "pass"
        failed += d.decision == "fail"
        items += n
        looks_used += k
    return Outcome(passed / reps, failed / reps, items / reps, looks_used / reps)


MARGIN, FLIP = 0.05, 0.10
PLAN = sequential_plan(MARGIN, FLIP, LOOKS)  # 324 items at most, 81 per look
REPS = 800  # Monte Carlo SE of a 2.5% rate: 0.55 points
MC = 3 * math.sqrt(0.025 * 0.975 / REPS)


@pytest.mark.parametrize("cluster_size", [1, 2])
def test_false_pass_on_the_margin_stays_at_alpha(cluster_size: int) -> None:
    # The normal test on 0/1 differences runs a little over its one-sided 2.5% at these sizes
    # (discreteness), fixed-n included; looking four times must add nothing beyond Monte Carlo
    # error to the fixed-n test on the same data.
    n, cs = PLAN.max_items, cluster_size
    out = simulate(-MARGIN, REPS, n, MARGIN, FLIP, seed=11, cluster_size=cs)
    fixed = simulate(-MARGIN, REPS, n, MARGIN, FLIP, seed=11, cluster_size=cs, looks=1)
    assert out.p_pass <= 0.05 and fixed.p_pass <= 0.05, (out, fixed)
    assert out.p_pass <= fixed.p_pass + MC, (out, fixed)


def test_power_at_no_loss_is_the_plans_and_stops_early() -> None:
    out = simulate(0.0, REPS, PLAN.max_items, MARGIN, FLIP, seed=12)
    assert out.p_pass == pytest.approx(0.8, abs=0.06), out  # planned power
    assert out.p_fail <= 0.025 + MC, out  # false NO-GO
    assert out.mean_items < 0.9 * PLAN.max_items, out


def test_a_clear_loss_fails_mostly_and_early() -> None:
    out = simulate(-2 * MARGIN, REPS, PLAN.max_items, MARGIN, FLIP, seed=13)
    assert out.p_fail > 0.8 and out.p_pass <= 0.01, out
    assert out.mean_items < 0.85 * PLAN.max_items and out.mean_look < 3.5, out


def test_no_flip_at_a_small_look_does_not_pass_early() -> None:
    # 40 items, no change at all: se 0, so z is infinite; without the reliability rule
    # such slices passed at look 1 and the false-GO rate of 160-item slices went to 18%.
    rng = np.random.default_rng(0)
    frame = paired_frame(np.zeros(40), rng)
    c = boundary_at(0.25, LOOKS, 0.95)
    assert look_decision(frame, _settings(0.05), POLICY, c, final=False).decision == "continue"
    # enough unchanged items for an exact bound below the margin at the look's level: pass
    frame = paired_frame(np.zeros(400), rng)
    assert look_decision(frame, _settings(0.05), POLICY, c, final=False).decision == "pass"
    # at the final look the gate's own rule decides (a pass, with its usual warning)
    frame = paired_frame(np.zeros(40), rng)
    c = boundary_at(1.0, LOOKS, 0.95)
    assert look_decision(frame, _settings(0.05), POLICY, c, final=True).decision == "pass"


def test_floor_alone_never_stops_a_slice_early() -> None:
    rng = np.random.default_rng(1)
    frame = paired_frame(np.zeros(400), rng)
    frame[["score_base", "score_cand"]] = 0.0  # base at the floor: measures nothing
    strict = Policy(n_resamples=1000, uninformative="fail")
    c = boundary_at(0.5, LOOKS, 0.95)
    d = look_decision(frame, _settings(0.05), strict, c, final=False)
    assert d.status == "fail" and d.decision == "continue"
    assert look_decision(frame, _settings(0.05), strict, c, final=True).decision == "fail"


def test_all_errors_continue_then_end_inconclusive() -> None:
    rng = np.random.default_rng(2)
    frame = paired_frame(np.zeros(100), rng)
    frame["error_cand"] = True
    c = boundary_at(0.5, LOOKS, 0.95)
    assert look_decision(frame, _settings(0.05), POLICY, c, final=False).decision == "continue"
    d = look_decision(frame, _settings(0.05), POLICY, c, final=True)
    assert d.decision == "inconclusive" == d.status


def test_look_decision_and_the_gate_agree_at_the_stopping_look() -> None:
    rng = np.random.default_rng(3)
    for delta in (-0.1, -0.05, 0.0, 0.02):
        for cluster_size in (1, 3):
            diffs = draw_diffs(rng, 240, 0.1, delta, cluster_size)
            frame = paired_frame(diffs, rng, cluster_size)
            c = boundary_at(0.75, LOOKS, 0.95)
            row, _ = slice_row("s", frame, _settings(0.05), POLICY, boundary=c)
            d = look_decision(frame, _settings(0.05), POLICY, c, final=True)
            assert row.status == d.status
            # the score CI is the repeated CI: its pass is z > c, as in decide_look
            mean, se = cluster_mean_se(diffs, frame["cluster_id"])
            assert row.ci_low == pytest.approx(max(-1.0, mean - c * se))
            assert (row.score_status == "pass") == ((mean + 0.05) / se > c)


def _runs(n: int, down: int, name: str = "s") -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = [f"{name}/{i:04d}" for i in range(n)]
    base = pd.DataFrame(
        {
            "item_id": ids,
            "suite": "x",
            "slice": name,
            "stratum": "all",
            "cluster_id": ids,
            "prompt_hash": ids,
            "output": "a",
            "target": "a",
            "score": 1.0,
            "correct": True,
            "catastrophic": False,
            "error": None,
        }
    )
    cand = base.copy()
    cand.loc[: down - 1, ["score", "correct"]] = [0.0, False]
    return base, cand


def _design(planned: list[int], stopped_at: int, name: str = "s") -> SequentialDesign:
    record = SequentialSlice(
        planned=planned, stopped_at=stopped_at, decision="pass", boundary=2.0, margin=0.05
    )
    return SequentialDesign(
        looks=len(planned), confidence=0.95, boundary_constant=2.02, seed=0, slices={name: record}
    )


def test_a_stored_sequential_run_is_judged_by_its_repeated_ci() -> None:
    # 200 items, 4 flipped down: the fixed-n bootstrap CI passes a 5-point margin easily; as
    # the first of 4 looks (c = 4.05) the repeated CI is about twice as wide
    base, cand = _runs(200, 4)
    policy = Policy(n_resamples=1000, margin=0.05)
    fixed = compare_runs(base, cand, policy).slice_named("s")
    seq = compare_runs(base, cand, policy, sequential=_design([200, 400, 600, 800], 1))
    row = seq.slice_named("s")
    assert row.sequential is not None and row.sequential.look == 1
    assert row.sequential.boundary == pytest.approx(boundary_at(0.25, 4, 0.95))
    assert row.sequential.items_used == 200 and row.sequential.items_max == 800
    assert row.ci_low is not None and fixed.ci_low is not None
    assert row.ci_low < fixed.ci_low - 0.005 and row.delta == fixed.delta
    assert fixed.status == "pass" and row.status == "inconclusive"
    assert "95% repeated CI at look 1 of 4" in " ".join(seq.reasons)
    assert seq.sequential is not None and seq.sequential.items_saved == 600


def test_a_design_that_does_not_match_the_data_is_refused() -> None:
    base, cand = _runs(200, 4)
    with pytest.raises(EvalcliffError, match="hold 200 items but the sequential design ran 100"):
        compare_runs(base, cand, POLICY, sequential=_design([100, 200], 1))
    with pytest.raises(EvalcliffError, match="not in the runs' sequential design"):
        compare_runs(base, cand, POLICY, sequential=_design([100, 200], 1, name="other"))


def test_settings_resolution_is_the_gates() -> None:
    policy = Policy(margin=0.03, slices={"s": {"margin": 0.07}})  # type: ignore[dict-item]
    got = slice_settings(["s", "t"], policy, None)
    assert got["s"].margin == 0.07 and got["t"].margin == 0.03
    assert got["s"].weight == pytest.approx(0.5)
