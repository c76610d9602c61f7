"""Paired non-inferiority comparison of two runs: per-slice decisions and the verdict.

See DESIGN.md "Verdict semantics": GO needs every slice to pass (intersection-union test),
NO-GO if any slice fails, else INCONCLUSIVE (or NO-GO under a strict policy). Errored items
never feed the statistics; a run whose every item errored gives no verdict at all.
"""

from __future__ import annotations

import math

import pandas as pd

from evalcliff.errors import EvalcliffError
from evalcliff.gate.pairing import pair_runs
from evalcliff.gate.policy import NULLABLE_LIMITS, Policy, SlicePolicy
from evalcliff.gate.reasons import verdict_reasons
from evalcliff.gate.sequential import check_design, slice_boundary, slice_record
from evalcliff.gate.slices import SliceSettings, reliability_warning, slice_row
from evalcliff.schema.manifest import SuiteManifest
from evalcliff.schema.run import SequentialDesign
from evalcliff.schema.summary import (
    EXIT_CODES,
    EffectivePolicy,
    EffectiveSlicePolicy,
    Headline,
    SequentialSummary,
    SliceSummary,
    Summary,
    Verdict,
)
from evalcliff.stats import BootstrapResult, holm, weighted_bootstrap
from evalcliff.stats.sequential import boundary_at

__all__ = ["EXIT_CODES", "NoDataError", "compare_runs", "slice_settings"]


class NoDataError(EvalcliffError):
    """Every item of a run failed: there is nothing to compare (exit 2, not a verdict)."""


# Suite slice keys the gate reads, with the range each must lie in.
_SUITE_KEYS = {
    "margin": "a number in (0, 1)",
    "weight": "a finite number >= 0",
    "max_catastrophic_increase": "a number in [0, 1]",
}


def _in_range(key: str, x: float) -> bool:
    if key == "margin":
        return 0.0 < x < 1.0
    if key == "weight":
        return 0.0 <= x < math.inf
    return 0.0 <= x <= 1.0


def _suite_value(suite: SuiteManifest | None, name: str, key: str) -> float | None:
    """The suite's setting for a slice (None: not set), checked to be in range."""
    entry = suite.slices.get(name) if suite is not None else None
    value: float | None = getattr(entry, key) if entry is not None else None
    if value is None:
        return None
    if not _in_range(key, float(value)):
        where = f"suite {suite.name!r}" if suite is not None else "suite"
        raise EvalcliffError(
            f"{where} slice {name!r}: {key} must be {_SUITE_KEYS[key]}, got {value!r}"
            " (from the base run's header)"
        )
    return float(value)


def _resolve(policy: Policy, name: str, key: str, suite: SuiteManifest | None) -> float | None:
    """default < policy top level < suite slice < policy slice. An explicit policy-slice
    null disables a limit; a suite's None means "not set" and inherits."""
    override: SlicePolicy | None = policy.slices.get(name)
    if override is not None and key in override.model_fields_set:
        value: float | None = getattr(override, key)
        if value is not None or key in NULLABLE_LIMITS:
            return value
    if key in _SUITE_KEYS:
        from_suite = _suite_value(suite, name, key)
        if from_suite is not None:
            return from_suite
    top: float | None = getattr(policy, key)
    return top


def _settings(
    name: str, weight: float, policy: Policy, suite: SuiteManifest | None
) -> SliceSettings:
    margin = _resolve(policy, name, "margin", suite)
    assert margin is not None  # the policy's top-level margin is never None
    return SliceSettings(
        margin=margin,
        limit=_resolve(policy, name, "max_catastrophic_increase", suite),
        max_error_rate=_resolve(policy, name, "max_error_rate", suite),
        min_base_score=_resolve(policy, name, "min_base_score", suite),
        weight=weight,
    )


def slice_settings(
    names: list[str], policy: Policy, suite: SuiteManifest | None
) -> dict[str, SliceSettings]:
    """Each slice's resolved settings (default < policy < suite slice < policy slice), its
    traffic weight normalised over `names`: what the gate judges it with."""
    weights = _weights(names, policy, suite)
    return {n: _settings(n, w, policy, suite) for n, w in zip(names, weights, strict=True)}


def _weights(names: list[str], policy: Policy, suite: SuiteManifest | None) -> list[float]:
    """Traffic shares, normalised to sum to 1 over the slices present.

    Policy slice weight > suite slice weight. Slices with neither share what is left of 1
    equally (all equal when no slice has a weight).
    """
    raw: list[float | None] = []
    for name in names:
        override = policy.slices.get(name)
        w = override.weight if override is not None else None
        raw.append(w if w is not None else _suite_value(suite, name, "weight"))
    given = sum(w for w in raw if w is not None)
    n_missing = sum(w is None for w in raw)
    fill = 1.0 if n_missing == len(raw) else max(0.0, 1.0 - given) / max(1, n_missing)
    filled = [fill if w is None else w for w in raw]
    total = sum(filled)
    if total <= 0:
        where = policy.source or "policy"
        raise EvalcliffError(
            f"{where}: slices.*.weight: the weights of {names} are all 0; give some a weight > 0"
        )
    return [w / total for w in filled]


def _refuse_empty_run(df: pd.DataFrame, side: str, label: str) -> None:
    """NoDataError when every row of a run has `error` set."""
    if "error" not in df.columns or len(df) == 0:
        return
    errors = df["error"].astype("string").fillna("")
    if (errors != "").all():
        raise NoDataError(
            f"every item of the {side} run ({label}) failed ({len(df)} errors): no data, no"
            f" verdict; first error: {str(errors.iloc[0])[:200]!r}"
        )


def _effective(policy: Policy, per_slice: dict[str, SliceSettings]) -> EffectivePolicy:
    return EffectivePolicy(
        **policy.model_dump(exclude={"slices"}),
        source=policy.source,
        slices={
            name: EffectiveSlicePolicy(
                margin=s.margin,
                weight=s.weight,
                max_catastrophic_increase=s.limit,
                max_error_rate=s.max_error_rate,
                min_base_score=s.min_base_score,
            )
            for name, s in per_slice.items()
        },
    )


def _headline(
    rows: list[SliceSummary], boots: list[BootstrapResult | None], confidence: float
) -> Headline:
    """Traffic-weighted delta over the slices with valid pairs (weights renormalised)."""
    parts = [(r, b) for r, b in zip(rows, boots, strict=True) if b is not None]
    if not parts:
        return Headline()
    worst = min((r for r, _ in parts), key=lambda r: r.delta if r.delta is not None else 0.0)
    weights = [r.weight for r, _ in parts]
    if sum(weights) <= 0:
        return Headline(worst_slice=worst.slice, worst_delta=worst.delta)
    head = weighted_bootstrap([b for _, b in parts], weights, confidence)
    return Headline(
        traffic_weighted_delta=head.mean,
        ci_low=head.ci_low,
        ci_high=head.ci_high,
        worst_slice=worst.slice,
        worst_delta=worst.delta,
    )


def compare_runs(
    base: pd.DataFrame,
    cand: pd.DataFrame,
    policy: Policy,
    suite: SuiteManifest | None = None,
    *,
    base_label: str = "base",
    cand_label: str = "cand",
    sequential: SequentialDesign | None = None,
) -> Summary:
    """Compare a candidate run with a base run on the same items and give a release verdict.

    `base`/`cand` are per-item results tables (see evalcliff.schema.run). `suite` is the
    base run's suite manifest: its per-slice margin, weight and catastrophic limit sit
    between the policy's top level and its per-slice entries (see `Policy`). Items with an
    error in either run leave the pairing and are counted per slice. Returns the Summary
    without run headers: slices in order of first appearance in `base`, fractions
    throughout, None where nothing could be measured. Deterministic for a given
    policy.seed. `sequential` is the runs' sequential design (`report --sequential`): each
    slice is then judged by its repeated CI at the look where its sampling stopped (see
    `evalcliff.gate.sequential`), never by a fixed-n CI. Raises EvalcliffError when the runs
    cannot be paired, do not match their design, or the policy names a slice the runs lack,
    and NoDataError when every item of either run errored.
    """
    paired = pair_runs(base, cand)
    first_seen = paired.groupby("slice")["base_position"].min().sort_values(kind="stable")
    names = [str(n) for n in first_seen.index]
    policy.check_slices(names)
    _refuse_empty_run(base, "base", base_label)
    _refuse_empty_run(cand, "cand", cand_label)
    if sequential is not None:
        check_design(sequential, paired)
    settings = slice_settings(names, policy, suite)

    rows: list[SliceSummary] = []
    boots: list[BootstrapResult | None] = []
    for name in names:
        items = paired[paired["slice"] == name]
        if sequential is None:
            row, boot = slice_row(name, items, settings[name], policy)
        else:
            record = sequential.slices[name]  # present: check_design made sure
            c = slice_boundary(record, sequential.looks, policy.confidence)
            row, boot = slice_row(name, items, settings[name], policy, boundary=c)
            row.sequential = slice_record(record, sequential.looks, c)
        rows.append(row)
        boots.append(boot)

    alpha = 1.0 - policy.confidence
    tested = [r for r in rows if r.mcnemar_p is not None]
    for row, p_adj in zip(tested, holm([r.mcnemar_p or 1.0 for r in tested]), strict=True):
        row.mcnemar_p_holm = float(p_adj)
        row.regressed = bool(p_adj < alpha and row.delta is not None and row.delta < 0)

    n_valid = sum(r.n for r in rows)
    seq_summary = None
    if sequential is not None:
        used = sum(r.sequential.items_used for r in rows if r.sequential is not None)
        most = sum(r.sequential.items_max for r in rows if r.sequential is not None)
        seq_summary = SequentialSummary(
            looks=sequential.looks,
            confidence=policy.confidence,
            boundary_constant=boundary_at(1.0, sequential.looks, policy.confidence),
            items_used=used,
            items_max=most,
            items_saved=most - used,
        )
    statuses = {r.status for r in rows}
    verdict: Verdict
    if "fail" in statuses:
        verdict = "no-go"
    elif statuses == {"pass"} and n_valid > 0:
        verdict = "go"
    else:
        verdict = policy.inconclusive
    mapped = verdict == "no-go" and "fail" not in statuses

    n_err_base, n_err_cand = sum(r.n_errors_base for r in rows), sum(r.n_errors_cand for r in rows)
    warnings = [
        f"{r.slice}: {r.n_errors_base} item(s) errored in base and {r.n_errors_cand} in cand;"
        " they left the pairing (an item counts only when valid in both runs)"
        for r in rows
        if r.n_errors_base or r.n_errors_cand
    ]
    warnings += [w for r in rows if (w := reliability_warning(r, policy.confidence))]
    return Summary(
        verdict=verdict,
        reasons=verdict_reasons(rows, policy.confidence, mapped),
        headline=_headline(rows, boots, policy.confidence),
        slices=rows,
        policy=_effective(policy, settings),
        n_paired=n_valid,
        n_items=len(paired),
        n_errors_base=n_err_base,
        n_errors_cand=n_err_cand,
        warnings=warnings,
        base_label=base_label,
        cand_label=cand_label,
        sequential=seq_summary,
    )
