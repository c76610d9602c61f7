"""compare_runs: pairing checks, slice decisions, verdicts and the summary structure."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.gate import EXIT_CODES, Policy, SlicePolicy, compare_runs
from evalcliff.schema import SliceSummary, SuiteManifest, Summary

RunFactory = Callable[..., pd.DataFrame]  # the make_run / degrade fixtures (conftest.py)
SuiteFactory = Callable[..., SuiteManifest]  # the make_suite fixture
FAST = Policy(n_resamples=2000)
SLICES = {"head": 300, "math": 200, "long_context": 200}

SLICE_KEYS = {
    "slice", "n", "base_mean", "cand_mean", "delta", "ci_low", "ci_high", "flips_regressed",
    "flips_improved", "mcnemar_p", "mcnemar_p_holm", "regressed", "margin", "weight", "status",
    "catastrophic_base", "catastrophic_cand", "catastrophic_delta", "catastrophic_ci_low",
    "catastrophic_ci_high", "max_catastrophic_increase", "items_needed", "n_errors_base",
    "n_errors_cand", "strata",
}  # fmt: skip


def _slice(summary: Summary, name: str) -> SliceSummary:
    return summary.slice_named(name)


def test_identical_runs_go_with_exact_zero_deltas(make_run: RunFactory) -> None:
    base = make_run(SLICES, cluster_size=4)
    out = compare_runs(base, base.copy(), FAST)
    assert out.verdict == "go" and EXIT_CODES[out.verdict] == 0 == out.exit_code
    assert out.reasons[0].startswith("all 3 slices pass")
    for row in out.slices:
        assert (row.delta, row.ci_low, row.ci_high) == (0.0, 0.0, 0.0)
        assert row.status == "pass" and row.items_needed is None
        assert row.flips_regressed == row.flips_improved == 0 and row.mcnemar_p == 1.0
        assert all(s.delta == 0.0 for s in row.strata)
        assert set(row.model_dump()) >= SLICE_KEYS
    head = out.headline
    assert (head.traffic_weighted_delta, head.ci_low, head.ci_high) == (0.0, 0.0, 0.0)
    assert out.n_paired == sum(SLICES.values())
    data = json.loads(out.model_dump_json())  # plain, finite JSON values only
    assert Summary.model_validate(data) == out


def test_thirty_point_drop_is_no_go_naming_the_slice(
    make_run: RunFactory, degrade: RunFactory
) -> None:
    base = make_run(SLICES, p_correct=0.8)
    cand = degrade(base, "long_context", 0.45)  # ~0.45 * 0.8 = 36 points of the slice
    out = compare_runs(base, cand, FAST)
    assert out.verdict == "no-go" and EXIT_CODES["no-go"] == 1
    row = _slice(out, "long_context")
    assert row.status == "fail" and row.delta < -0.25 and row.regressed
    assert out.reasons[0].startswith("long_context: Δ=−")
    assert "entirely below the −2.0 pts margin" in out.reasons[0]
    assert out.headline.worst_slice == "long_context"
    assert _slice(out, "head").status == "pass"


def test_row_order_does_not_change_the_result(make_run: RunFactory, degrade: RunFactory) -> None:
    base = make_run(SLICES)
    cand = degrade(base, "math", 0.1)
    a = compare_runs(base, cand, FAST)
    b = compare_runs(base, cand.sample(frac=1.0, random_state=3), FAST)
    assert a == b
    c = compare_runs(base, cand, Policy(n_resamples=2000, seed=1))
    assert c != a  # another seed, other resamples


def test_prompt_hash_mismatch_is_an_error(make_run: RunFactory) -> None:
    base = make_run(SLICES)
    cand = base.copy()
    cand.loc[5, "prompt_hash"] = "other"
    with pytest.raises(EvalcliffError, match="did not see the same prompt") as exc:
        compare_runs(base, cand, FAST)
    assert repr(base.loc[5, "item_id"]) in str(exc.value)


def test_different_item_sets_are_an_error(make_run: RunFactory) -> None:
    base = make_run(SLICES)
    cand = base.iloc[3:].copy()
    with pytest.raises(EvalcliffError, match="3 only in base .* 0 only in cand"):
        compare_runs(base, cand, FAST)


def test_slice_mismatch_and_duplicates_are_errors(make_run: RunFactory) -> None:
    base = make_run(SLICES)
    cand = base.copy()
    cand.loc[0, "slice"] = "math"
    with pytest.raises(EvalcliffError, match="is in slice 'head' in base but 'math' in cand"):
        compare_runs(base, cand, FAST)
    dup = pd.concat([base, base.iloc[:1]])
    with pytest.raises(EvalcliffError, match="duplicate item_id"):
        compare_runs(dup, dup, FAST)


def test_catastrophic_rule_fails_a_slice_whose_mean_passes(make_run: RunFactory) -> None:
    base = make_run(SLICES)
    cand = base.copy()
    # Scores unchanged, but 20% of math items now fail catastrophically.
    math_idx = cand.index[cand["slice"] == "math"]
    cand.loc[math_idx[::5], "catastrophic"] = True
    out = compare_runs(base, cand, FAST)
    row = _slice(out, "math")
    assert row.delta == 0.0 and row.score_status == "pass"
    assert row.status == "fail" and row.catastrophic_status == "fail"
    assert row.catastrophic_delta == pytest.approx(0.2)
    assert out.verdict == "no-go"
    assert "math: catastrophic rate +20.0 pts (0.0% → 20.0%)" in out.reasons[0]
    # An explicit null limit for the slice disables the rule.
    off = Policy(n_resamples=2000, slices={"math": SlicePolicy(max_catastrophic_increase=None)})
    assert compare_runs(base, cand, off).verdict == "go"


def test_inconclusive_and_strict_policy(make_run: RunFactory, degrade: RunFactory) -> None:
    base = make_run({"head": 300, "tail": 300})
    cand = degrade(base, "tail", 0.05)  # ~3.5 points lost on 300 items: CI straddles -2
    out = compare_runs(base, cand, FAST)
    row = _slice(out, "tail")
    assert out.verdict == "inconclusive" and EXIT_CODES["inconclusive"] == 3
    assert row.status == "inconclusive"
    assert row.ci_low < -0.02 < row.ci_high
    assert isinstance(row.items_needed, int) and row.items_needed > 0
    assert "more items would decide it" in out.reasons[0]
    strict = compare_runs(base, cand, Policy(n_resamples=2000, inconclusive="no-go"))
    assert strict.verdict == "no-go"
    assert "maps inconclusive to no-go" in strict.reasons[-1]


def test_margin_weight_and_limit_precedence(make_run: RunFactory, make_suite: SuiteFactory) -> None:
    base = make_run(SLICES)
    suite = make_suite(
        {
            "head": {"margin": 0.03, "weight": 0.5},
            "math": {"margin": 0.04, "weight": 0.3, "max_catastrophic_increase": 0.01},
        }
    )
    policy = Policy(n_resamples=2000, slices={"head": SlicePolicy(margin=0.01)})
    out = compare_runs(base, base.copy(), policy, suite)
    head, math, long_ = (_slice(out, s) for s in ("head", "math", "long_context"))
    assert (head.margin, math.margin, long_.margin) == (0.01, 0.04, 0.02)
    # long_context has no weight: it gets what is left of 1 (0.2).
    assert [head.weight, math.weight, long_.weight] == pytest.approx([0.5, 0.3, 0.2])
    assert (math.max_catastrophic_increase, head.max_catastrophic_increase) == (0.01, 0.05)
    assert out.policy.slices["head"].margin == 0.01
    assert out.policy.slices["math"].max_catastrophic_increase == 0.01


def test_a_policy_slice_not_in_the_runs_is_an_error(make_run: RunFactory) -> None:
    base = make_run(SLICES)
    policy = Policy(n_resamples=2000, slices={"gone": SlicePolicy(margin=0.01)})
    with pytest.raises(EvalcliffError) as exc:
        compare_runs(base, base.copy(), policy)
    msg = str(exc.value)
    assert "slices.gone" in msg and "known: head, math, long_context" in msg


def test_headline_is_traffic_weighted(make_run: RunFactory, degrade: RunFactory) -> None:
    base = make_run(SLICES)
    cand = degrade(base, "long_context", 0.3)
    weights = {"head": 0.85, "math": 0.10, "long_context": 0.05}
    policy = Policy(n_resamples=2000, slices={k: SlicePolicy(weight=w) for k, w in weights.items()})
    out = compare_runs(base, cand, policy)
    expected = sum(weights[r.slice] * r.delta for r in out.slices)
    head = out.headline
    assert head.traffic_weighted_delta == pytest.approx(expected)
    assert head.ci_low <= head.traffic_weighted_delta <= head.ci_high
    # The median would approve the swap; the tail is what stops it.
    assert head.traffic_weighted_delta > -0.02 and out.verdict == "no-go"
    assert head.worst_delta == _slice(out, "long_context").delta


def test_holm_adjusts_across_slices_and_errors_are_counted(make_run: RunFactory) -> None:
    base = make_run(SLICES)
    cand = base.copy()
    cand.loc[cand.index[:3], "error"] = "timeout"
    out = compare_runs(base, cand, FAST)
    ps = [r.mcnemar_p_holm for r in out.slices]
    assert all(p is not None and p >= r.mcnemar_p for p, r in zip(ps, out.slices, strict=True))
    row = _slice(out, "head")
    assert (row.n_errors_cand, row.n, row.n_items) == (3, 297, 300)
    assert row.error_rate == pytest.approx(0.01) and row.status == "pass"
    assert out.n_errors_cand == 3 and out.n_paired == sum(SLICES.values()) - 3
    assert any("errored" in w for w in out.warnings)


def test_strata_rows(make_run: RunFactory, degrade: RunFactory) -> None:
    base = make_run(SLICES)
    out = compare_runs(base, degrade(base, "math", 0.2), FAST)
    strata = _slice(out, "math").strata
    assert [s.stratum for s in strata] == ["bucket=0", "bucket=1"]
    assert sum(s.n for s in strata) == 200
    assert all(s.ci_low <= s.delta <= s.ci_high for s in strata)
    assert np.isclose(np.mean([s.delta for s in strata]), _slice(out, "math").delta, atol=1e-12)


def test_undecided_catastrophic_rule_reports_items_needed(make_run: RunFactory) -> None:
    base = make_run({"code": 200})
    cand = base.copy()
    cand.loc[cand.index[::25], "catastrophic"] = True  # +4 points against a 5-point limit
    out = compare_runs(base, cand, FAST)
    row = _slice(out, "code")
    assert row.score_status == "pass" and row.catastrophic_status == "inconclusive"
    assert row.catastrophic_ci_low < 0.05 < row.catastrophic_ci_high
    assert out.verdict == "inconclusive"
    assert isinstance(row.items_needed, int) and row.items_needed > 0
    assert "reaches above the +5.0 pts limit" in out.reasons[0]


def test_results_read_back_from_disk_compare(make_run: RunFactory, tmp_path: Path) -> None:
    from evalcliff.results import read_results, write_results

    base = make_run({"head": 50, "tail": 50})
    write_results(base, tmp_path / "base.jsonl")
    write_results(base, tmp_path / "cand.parquet")
    out = compare_runs(
        read_results(tmp_path / "base.jsonl"), read_results(tmp_path / "cand.parquet"), FAST
    )
    assert out.verdict == "go" and [r.slice for r in out.slices] == ["head", "tail"]
    json.loads(out.model_dump_json())
