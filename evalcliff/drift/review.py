"""The weekly drift review: a variant's latest recorded run against a baseline, with the
gate's paired statistics and non-inferiority rule (`evalcliff.compare.compare_artifacts`,
which also refuses runs whose suite builds differ), the changes between the two runs, the
trend of every run since the anchor, and the control chart."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from scipy.stats import norm

from evalcliff.compare import compare_artifacts
from evalcliff.drift.changes import run_changes
from evalcliff.drift.control import DEFAULT_CHART, EwmaChart, standardize
from evalcliff.drift.model import (
    STATUS_OF_VERDICT,
    Alarm,
    DriftReport,
    DriftSlice,
    DriftStatus,
    RunRef,
    TrendPoint,
)
from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy
from evalcliff.gate.integrity import check_rows_match_header, refuse_unpairable
from evalcliff.history.store import HistoryStore, StoredRun
from evalcliff.schema.run import RunArtifact
from evalcliff.schema.summary import Summary

DEFAULT_MAX_BASELINE_AGE_DAYS = 90.0


def run_ref(run: StoredRun) -> RunRef:
    fp = run.header.model.weights_fingerprint if run.header is not None else None
    return RunRef(id=run.id, variant=run.variant, at=run.at, weights_fingerprint=fp,
                  tags=run.tags)  # fmt: skip


def shared_items(base: RunArtifact, cand: RunArtifact) -> tuple[RunArtifact, RunArtifact, int]:
    """Both runs restricted to the item ids they share, and how many rows were dropped."""
    ids = set(base.results["item_id"]) & set(cand.results["item_id"])
    b = base.results[base.results["item_id"].isin(ids)].reset_index(drop=True)
    c = cand.results[cand.results["item_id"].isin(ids)].reset_index(drop=True)
    dropped = len(base.results) - len(b) + len(cand.results) - len(c)
    return (
        RunArtifact(path=base.path, header=base.header, results=b),
        RunArtifact(path=cand.path, header=cand.header, results=c),
        dropped,
    )


def _compare(base: RunArtifact, cand: RunArtifact, policy: Policy) -> tuple[Summary, int]:
    """The gate's summary of `cand` against `base` on the items they share, and how many
    rows only one of them holds. Refused (EvalcliffError): a run whose rows disagree with its
    header; suite builds that differ; a run with a header that holds items the other lacks
    (the other run is incomplete, not the items to leave out). Only rows of headerless runs,
    which nothing can be checked against, may be left out, with a warning."""
    check_rows_match_header(base)
    check_rows_match_header(cand)
    refuse_unpairable(base, cand)
    b, c, dropped = shared_items(base, cand)
    for whole, part, other in ((base, b, cand), (cand, c, base)):
        lost = len(whole.results) - len(part.results)
        if whole.header is not None and lost:
            raise EvalcliffError(
                f"{other.path} lacks {lost} of the {len(whole.results)} items of {whole.path}"
                " (its run header lists them all): the run is incomplete; nothing is left out"
                " of a drift review silently"
            )
    if len(b.results) == 0:
        raise EvalcliffError(f"{base.path} and {cand.path} share no items; nothing to pair")
    return compare_artifacts(b, c, policy), dropped


def trend_anchor(store: HistoryStore, variant: str, baseline: StoredRun, ref: str) -> StoredRun:
    """The run the trend is measured against: the baseline, except for `previous` (a rolling
    baseline would absorb slow drift): the variant's pinned run, else its first."""
    if ref.strip() != "previous":
        return baseline
    runs = store.runs(variant)
    pinned = [r for r in runs if r.pinned]
    return pinned[0] if pinned else runs[0]


def trend_points(
    store: HistoryStore,
    variant: str,
    anchor: StoredRun,
    policy: Policy,
    chart: EwmaChart = DEFAULT_CHART,
) -> tuple[list[TrendPoint], list[str]]:
    """Per slice, every run of `variant` after `anchor` against it, with the chart; and
    warnings for runs that could not be paired with the anchor (skipped)."""
    anchor_art = store.artifact(anchor)
    check_rows_match_header(anchor_art)
    runs = [r for r in store.runs(variant) if (r.at, r.id) > (anchor.at, anchor.id)]
    z_q = float(norm.ppf(0.5 + policy.confidence / 2))
    rows: dict[str, list[tuple[StoredRun, float | None, float | None, float | None, str]]] = {}
    changed: dict[int, list[str]] = {}
    warnings: list[str] = []
    before = anchor
    for run in runs:
        try:
            summary, _ = _compare(anchor_art, store.artifact(run), policy)
        except EvalcliffError as exc:
            warnings.append(f"trend: run {run.id} skipped: {exc}")
            continue
        changed[run.id] = sorted({c.kind for c in run_changes(before, run)})
        before = run
        for s in summary.slices:
            rows.setdefault(s.slice, []).append((run, s.delta, s.ci_low, s.ci_high, s.status))
    points: list[TrendPoint] = []
    for name, series in rows.items():
        delta = np.array([d if d is not None else 0.0 for _, d, _, _, _ in series])
        se = np.array([
            (hi - lo) / (2 * z_q) if lo is not None and hi is not None else np.inf
            for _, _, lo, hi, _ in series
        ])  # fmt: skip
        z = standardize(delta, se)
        ewma, lower, alarm = chart.run(z)
        for i, (run, d, lo, hi, status) in enumerate(series):
            points.append(TrendPoint(
                run=run.id, at=run.at, slice=name, delta=d, ci_low=lo, ci_high=hi,
                status=status,
                z=float(z[i]), ewma=float(ewma[i]), ewma_limit=float(lower[i]),
                alarm=bool(alarm[i]), changed=changed[run.id],
            ))  # fmt: skip
    return points, warnings


def _alarms(points: list[TrendPoint], latest: StoredRun) -> list[Alarm]:
    out = []
    for p in points:
        if p.run != latest.id or not p.alarm:
            continue
        series = [q for q in points if q.slice == p.slice]
        first = p.run
        for q in reversed(series):  # the start of the current alarm streak
            if not q.alarm:
                break
            first = q.run
        out.append(Alarm(slice=p.slice, run=p.run, ewma=p.ewma, limit=p.ewma_limit,
                         first_alarm_run=first))  # fmt: skip
    return out


def drift_review(
    store: HistoryStore,
    variant: str,
    baseline_ref: str,
    policy: Policy,
    *,
    max_baseline_age_days: float = DEFAULT_MAX_BASELINE_AGE_DAYS,
    chart: EwmaChart = DEFAULT_CHART,
) -> DriftReport:
    """The drift review of `variant`'s latest run against `baseline_ref` (a run id, a
    variant name: its pinned run else its latest, or `previous`).

    Raises EvalcliffError (exit 2) when a run is missing, the baseline is the latest run
    itself, the runs share no items, their suite builds differ, a run's rows disagree with
    its header (baseline, latest or trend anchor; a later run that does is left out of the
    trend with a warning), a headed run holds items the other lacks, or the policy is wrong.
    """
    latest = store.latest(variant)
    baseline = store.resolve(baseline_ref, variant)
    if baseline.id == latest.id:
        raise EvalcliffError(
            f"--baseline {baseline_ref!r} resolves to run {latest.id}, the latest run of "
            f"{variant!r} itself; pin an earlier run or give a run id"
        )
    summary, dropped = _compare(store.artifact(baseline), store.artifact(latest), policy)
    anchor = trend_anchor(store, variant, baseline, baseline_ref)
    points, warnings = trend_points(store, variant, anchor, policy, chart)
    alarms = _alarms(points, latest)
    alarmed = {a.slice for a in alarms}
    if dropped:
        warnings.append(f"{dropped} item row(s) are in only one of the two runs; left out")
    warnings += summary.warnings

    slices = [
        DriftSlice(
            slice=s.slice, status=s.status, delta=s.delta, ci_low=s.ci_low, ci_high=s.ci_high,
            n=s.n, margin=s.margin, base_mean=s.base_mean, cand_mean=s.cand_mean,
            regressed=s.regressed, alarm=s.slice in alarmed,
        )
        for s in summary.slices
    ]  # fmt: skip
    status: DriftStatus = STATUS_OF_VERDICT[summary.verdict]
    reasons = list(summary.reasons)
    if alarms:
        if status != "drifted":
            status = "drifted"
        names = ", ".join(a.slice for a in alarms)
        reasons.append(
            f"control chart: sustained decline in {names} since the trend's anchor run "
            f"{anchor.id} (EWMA of the weekly paired deltas below its limit)"
        )
    age = latest.at_datetime - baseline.at_datetime
    age_days = age / timedelta(days=1)
    stale = age_days > max_baseline_age_days
    if stale:
        warnings.append(
            f"baseline run {baseline.id} is {age_days:.0f} days older than the latest run "
            f"(limit {max_baseline_age_days:g}): stale; re-pin a recent run of the base"
        )
    return DriftReport(
        status=status,
        reasons=reasons,
        run=run_ref(latest),
        baseline=run_ref(baseline),
        baseline_ref=baseline_ref,
        stale=stale,
        baseline_age_days=round(age_days, 3),
        max_baseline_age_days=max_baseline_age_days,
        slices=slices,
        changes=run_changes(baseline, latest),
        trend_anchor=run_ref(anchor),
        trend=points,
        alarms=alarms,
        chart={"lambda": chart.lam, "limit": chart.limit, "rho": chart.rho},
        warnings=warnings,
        summary=summary.model_dump(mode="json", exclude={"base", "cand"}),
    )
