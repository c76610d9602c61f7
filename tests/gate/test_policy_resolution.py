"""Slice settings resolve as documented: built-in default < policy top level < suite slice <
policy slice. A suite's unset value (None in the manifest) inherits; only an explicit
policy-slice null disables a rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from evalcliff.gate import Policy, SlicePolicy, compare_runs, load_policy
from evalcliff.schema import SliceSummary, SuiteManifest

RunFactory = Callable[..., pd.DataFrame]
SuiteFactory = Callable[..., SuiteManifest]
SLICES = {"head": 400, "low_resource": 400}


@pytest.fixture
def runs(make_run: RunFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores unchanged; 8% of low_resource items turn catastrophic in the candidate (q2's
    +8.1 pts that passed before)."""
    base = make_run(SLICES, p_correct=0.8)
    cand = base.copy()
    idx = cand.index[cand["slice"] == "low_resource"]
    cand.loc[idx[: int(0.08 * len(idx))], "catastrophic"] = True
    return base, cand


def _low(
    base: pd.DataFrame, cand: pd.DataFrame, policy: Policy, suite: SuiteManifest
) -> SliceSummary:
    out = compare_runs(base, cand, policy, suite)
    row = out.slice_named("low_resource")
    assert out.policy.slices["low_resource"].max_catastrophic_increase == (
        row.max_catastrophic_increase
    )
    return row


def test_builtin_default_applies_when_the_suite_leaves_it_unset(
    runs: tuple[pd.DataFrame, pd.DataFrame], make_suite: SuiteFactory
) -> None:
    suite = make_suite({"head": {}, "low_resource": {"margin": 0.05}})  # limit unset: None
    assert suite.slices["low_resource"].max_catastrophic_increase is None
    row = _low(*runs, Policy(n_resamples=1000), suite)
    assert row.max_catastrophic_increase == 0.05
    assert row.catastrophic_status == "fail" and row.status == "fail"


def test_policy_top_level_applies_when_the_suite_leaves_it_unset(
    runs: tuple[pd.DataFrame, pd.DataFrame], make_suite: SuiteFactory
) -> None:
    suite = make_suite({"head": {}, "low_resource": {}})
    row = _low(*runs, Policy(n_resamples=1000, max_catastrophic_increase=0.2), suite)
    assert row.max_catastrophic_increase == 0.2 and row.status == "pass"
    off = _low(*runs, Policy(n_resamples=1000, max_catastrophic_increase=None), suite)
    assert off.max_catastrophic_increase is None and off.status == "pass"


def test_suite_slice_overrides_the_policy_top_level(
    runs: tuple[pd.DataFrame, pd.DataFrame], make_suite: SuiteFactory
) -> None:
    suite = make_suite({"head": {}, "low_resource": {"max_catastrophic_increase": 0.2}})
    row = _low(*runs, Policy(n_resamples=1000, max_catastrophic_increase=0.01), suite)
    assert row.max_catastrophic_increase == 0.2 and row.status == "pass"


def test_policy_slice_overrides_the_suite(
    runs: tuple[pd.DataFrame, pd.DataFrame], make_suite: SuiteFactory
) -> None:
    suite = make_suite({"head": {}, "low_resource": {"max_catastrophic_increase": 0.2}})
    policy = Policy(
        n_resamples=1000, slices={"low_resource": SlicePolicy(max_catastrophic_increase=0.02)}
    )
    row = _low(*runs, policy, suite)
    assert row.max_catastrophic_increase == 0.02 and row.status == "fail"


def test_only_an_explicit_policy_slice_null_disables_the_rule(
    runs: tuple[pd.DataFrame, pd.DataFrame], make_suite: SuiteFactory, tmp_path: Path
) -> None:
    suite = make_suite({"head": {}, "low_resource": {"max_catastrophic_increase": 0.01}})
    # A policy slice that sets other keys only inherits the limit ...
    inherit = Policy(n_resamples=1000, slices={"low_resource": SlicePolicy(margin=0.05)})
    assert _low(*runs, inherit, suite).max_catastrophic_increase == 0.01
    # ... an explicit null (as written in YAML) turns it off.
    path = tmp_path / "p.yaml"
    path.write_text(
        "n_resamples: 1000\nslices:\n  low_resource: {max_catastrophic_increase: null}\n"
    )
    row = _low(*runs, load_policy(path), suite)
    assert row.max_catastrophic_increase is None and row.status == "pass"


def test_margin_resolves_per_level(make_run: RunFactory, make_suite: SuiteFactory) -> None:
    base = make_run(SLICES)
    plain = make_suite({"head": {}, "low_resource": {}})
    assert compare_runs(base, base, Policy(n_resamples=1000), plain).slices[0].margin == 0.02
    top = Policy(n_resamples=1000, margin=0.03)
    assert compare_runs(base, base, top, plain).slices[0].margin == 0.03
    suite = make_suite({"head": {"margin": 0.04}, "low_resource": {}})
    assert compare_runs(base, base, top, suite).slices[0].margin == 0.04
    override = Policy(n_resamples=1000, margin=0.03, slices={"head": SlicePolicy(margin=0.01)})
    out = compare_runs(base, base, override, suite)
    assert out.slices[0].margin == 0.01 and out.policy.slices["head"].margin == 0.01


def test_error_limit_and_floor_resolve_per_level(make_run: RunFactory) -> None:
    base = make_run(SLICES)
    out = compare_runs(base, base, Policy(n_resamples=1000))
    assert (out.slices[0].max_error_rate, out.slices[0].min_base_score) == (0.02, 0.05)
    top = Policy(n_resamples=1000, max_error_rate=0.1, min_base_score=0.0)
    out = compare_runs(base, base, top)
    assert (out.slices[0].max_error_rate, out.slices[0].min_base_score) == (0.1, 0.0)
    per = top.model_copy(
        update={"slices": {"head": SlicePolicy(max_error_rate=None, min_base_score=0.2)}}
    )
    out = compare_runs(base, base, per)
    head, low = out.slice_named("head"), out.slice_named("low_resource")
    assert (head.max_error_rate, head.min_base_score) == (None, 0.2)
    assert (low.max_error_rate, low.min_base_score) == (0.1, 0.0)
    assert out.policy.slices["head"].max_error_rate is None
