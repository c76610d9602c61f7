"""No silent wrong verdict: errored items never feed the statistics, and a slice that
measures nothing cannot pass."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from evalcliff.gate import NoDataError, Policy, SlicePolicy, compare_runs

RunFactory = Callable[..., pd.DataFrame]
FAST = Policy(n_resamples=1000)
SLICES = {"head": 300, "tail": 300}


def _fail(
    run: pd.DataFrame, mask: pd.Series | None = None, message: str = "timeout"
) -> pd.DataFrame:
    """`run` with the rows in `mask` (all rows by default) turned into error rows: score 0,
    wrong, and `error` set, the way the runner records a request that failed for good."""
    out = run.copy()
    hit = pd.Series(True, index=out.index) if mask is None else mask
    out.loc[hit, ["score", "correct", "output"]] = [0.0, False, ""]
    out.loc[hit, "error"] = message
    return out


def _wrong(run: pd.DataFrame, share: float, mask: pd.Series | None = None) -> pd.DataFrame:
    """`run` with the first `share` of the rows in `mask` answered wrong (no error)."""
    out = run.copy()
    rows = out.index if mask is None else out.index[mask]
    hit = rows[: int(len(rows) * share)]
    out.loc[hit, ["score", "correct"]] = [0.0, False]
    return out


def test_a_candidate_outage_is_no_data_not_go(make_run: RunFactory) -> None:
    base = make_run(SLICES, p_correct=0.3)
    with pytest.raises(NoDataError, match=r"every item of the cand run \(cand\) failed \(600"):
        compare_runs(base, _fail(base), FAST)


def test_a_base_outage_with_a_bad_candidate_is_no_data_not_go(make_run: RunFactory) -> None:
    # The base endpoint was unreachable; the candidate gets 90% of items wrong. Before,
    # every base row scored 0 and the candidate "improved": GO.
    base = make_run(SLICES, p_correct=0.9)
    cand = _wrong(base, 0.9)
    with pytest.raises(NoDataError) as exc:
        compare_runs(_fail(base, message="connection refused"), cand, FAST)
    msg = str(exc.value)
    assert "every item of the base run (base) failed (600 errors): no data, no verdict" in msg
    assert "connection refused" in msg and "\n" not in msg


def test_a_base_outage_on_one_slice_is_not_go(make_run: RunFactory) -> None:
    base = make_run(SLICES, p_correct=0.9)
    cand = _wrong(base, 0.9, base["slice"] == "tail")
    out = compare_runs(_fail(base, base["slice"] == "tail"), cand, FAST)
    tail = out.slice_named("tail")
    assert out.verdict == "inconclusive" and tail.status == "inconclusive"
    assert tail.n == 0 and tail.n_errors_base == 300 and tail.delta is None
    assert tail.guards == ["no_pairs", "errors"] and tail.items_needed is None
    assert any(r.startswith("tail: no item is valid in both runs") for r in out.reasons)
    assert out.n_paired == 300 and out.n_items == 600 and out.n_errors_base == 300
    assert out.headline.worst_slice == "head"


def test_a_base_that_answers_nothing_without_errors_is_not_go(make_run: RunFactory) -> None:
    # An outage the runner did not flag: every base output is empty and scores 0.
    base = _wrong(make_run(SLICES, p_correct=0.9), 1.0)
    cand = _wrong(make_run(SLICES, p_correct=0.9), 0.9)
    out = compare_runs(base, cand, FAST)
    assert out.verdict == "inconclusive"
    assert all(s.guards == ["floor"] and s.status == "inconclusive" for s in out.slices)


def test_errors_leave_the_pairing_and_too_many_make_a_slice_inconclusive(
    make_run: RunFactory,
) -> None:
    base = make_run(SLICES, p_correct=0.7)
    tail = base["slice"] == "tail"
    # 10% of tail errored in the candidate; the other items are identical.
    cand = _fail(base, tail & (base.index % 10 == 0))
    out = compare_runs(base, cand, FAST)
    row = out.slice_named("tail")
    assert (row.n, row.n_items, row.n_errors_base, row.n_errors_cand) == (270, 300, 0, 30)
    assert row.error_rate == pytest.approx(0.1) and row.max_error_rate == 0.02
    assert row.delta == 0.0 and row.score_status == "pass"  # the valid pairs agree
    assert row.status == "inconclusive" and row.guards == ["errors"]
    assert out.verdict == "inconclusive"
    (reason,) = [r for r in out.reasons if r.startswith("tail:")]
    assert "0 of 300 items errored in base and 30 in cand (10.0% left the pairing" in reason
    assert any("left the pairing" in w for w in out.warnings)
    # A policy that tolerates 15% errors on the slice passes it on the valid pairs.
    loose = Policy(n_resamples=1000, slices={"tail": SlicePolicy(max_error_rate=0.15)})
    assert compare_runs(base, cand, loose).verdict == "go"


def test_errored_items_are_not_scored_as_wrong(make_run: RunFactory) -> None:
    # 1% of head errored in the candidate: under the 2% limit, so the slice is decided on
    # its valid pairs, where nothing changed. Scored as wrong, they would be a 1-point drop.
    base = make_run({"head": 300}, p_correct=1.0)
    cand = _fail(base, base.index < 3)
    out = compare_runs(base, cand, FAST)
    row = out.slices[0]
    assert row.n == 297 and row.delta == 0.0 and row.cand_mean == 1.0
    assert row.flips_regressed == 0 and out.verdict == "go"


def test_zero_valid_pairs_is_never_go(make_run: RunFactory) -> None:
    # Each run failed on a different slice, and the policy tolerates any error rate.
    base = make_run(SLICES)
    run_b = _fail(base, base["slice"] == "head")
    run_c = _fail(base, base["slice"] == "tail")
    policy = Policy(n_resamples=1000, max_error_rate=1.0)
    out = compare_runs(run_b, run_c, policy)
    assert out.n_paired == 0 and out.verdict == "inconclusive"
    assert all(s.guards == ["no_pairs"] for s in out.slices)
    assert out.headline.traffic_weighted_delta is None and out.headline.worst_slice is None
    strict = compare_runs(run_b, run_c, policy.model_copy(update={"inconclusive": "no-go"}))
    assert strict.verdict == "no-go"


def test_zero_percent_everywhere_is_not_go(make_run: RunFactory) -> None:
    base = make_run({"head": 300, "code": 300, "math": 300}, p_correct=0.0)
    out = compare_runs(base, base.copy(), FAST)
    assert out.verdict == "inconclusive" and out.exit_code == 3
    assert all(s.status == "inconclusive" and s.guards == ["floor"] for s in out.slices)
    assert all("measures nothing for this model" in r for r in out.reasons)
    strict = compare_runs(base, base.copy(), Policy(n_resamples=1000, uninformative="fail"))
    assert strict.verdict == "no-go"


def test_the_floor_is_a_policy_setting(make_run: RunFactory) -> None:
    base = make_run({"head": 300}, p_correct=0.7)
    hard = make_run({"hard": 300}, p_correct=0.08, seed=5)
    both = pd.concat([base, hard], ignore_index=True)
    out = compare_runs(both, both.copy(), FAST)
    hard_mean = out.slice_named("hard").base_mean
    assert hard_mean is not None and 0.05 < hard_mean < 0.2
    assert out.slice_named("hard").status == "pass"  # above the 5% floor
    higher = compare_runs(both, both.copy(), Policy(n_resamples=1000, min_base_score=0.2))
    assert higher.slice_named("hard").guards == ["floor"] and higher.verdict == "inconclusive"
    assert higher.slice_named("head").status == "pass"
    off = Policy(
        n_resamples=1000,
        min_base_score=0.2,
        slices={"hard": SlicePolicy(min_base_score=None)},  # explicit null: no floor here
    )
    assert compare_runs(both, both.copy(), off).verdict == "go"


def test_a_floor_slice_that_fails_still_fails(make_run: RunFactory) -> None:
    # Base at 4% and the candidate loses all of it: shown to lose more than a 1-point
    # margin. The floor stops passes, never a fail (a gate errs towards blocking).
    base = make_run({"hard": 1000}, p_correct=0.04, seed=3)
    cand = _wrong(base, 1.0)
    out = compare_runs(base, cand, Policy(n_resamples=1000, margin=0.01))
    row = out.slices[0]
    assert row.score_status == "fail" and row.status == "fail" and out.verdict == "no-go"
    assert "floor" in row.guards
