"""The verdict box: which slices and strata drive the decision, and what to do next.

Plain text only (the template escapes it). Advice follows the slice's status: a failed
slice names its traffic share to keep on the base and the strata that carry the drop; an
inconclusive slice says how many more items would decide it, and when that is beyond what
a suite can reasonably produce (more than `TOO_MANY` times the slice), offers the choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evalcliff.report import formatting as fmt
from evalcliff.report.strata import ordered_strata
from evalcliff.schema.summary import SliceSummary, StratumSummary, Summary

TOO_MANY = 10  # items needed beyond this multiple of the slice's items: more items won't do
GUARD_TEXT = {
    "no_pairs": "no item is valid in both runs",
    "errors": "too many items errored",
    "floor": "the base scores at the floor, so the slice measures nothing",
    "one_cluster": "all items share one cluster, so the CI has no spread",
}


@dataclass(frozen=True)
class Driver:
    """One slice that drives the verdict, its worst strata and the advice for it."""

    slice: SliceSummary
    strata: list[StratumSummary]
    concentrated: StratumSummary | None
    advice: list[str] = field(default_factory=list)


def worst_strata(sl: SliceSummary, k: int = 3) -> list[StratumSummary]:
    """Up to `k` strata with the largest drops (negative deltas), worst first."""
    dropped = [s for s in sl.strata if s.delta is not None and s.delta < 0]
    return sorted(dropped, key=lambda s: (s.delta or 0.0, s.stratum))[:k]


def _concentrated(sl: SliceSummary, worst: list[StratumSummary]) -> StratumSummary | None:
    """The worst stratum when it carries at least half of the slice's total drop."""
    if not worst or sl.delta is None or sl.delta >= 0 or sl.n == 0:
        return None
    top = worst[0]
    share = (top.delta or 0.0) * top.n / (sl.delta * sl.n)
    return top if share >= 0.5 and len(sl.strata) > 1 else None


def _advice(sl: SliceSummary, base: str, conc: StratumSummary | None) -> list[str]:
    out: list[str] = []
    guards = [GUARD_TEXT.get(g, g) for g in sl.guards]
    if guards:
        out.append(f"It cannot pass as measured: {'; '.join(guards)}.")
    if sl.status == "fail":
        if sl.catastrophic_status == "fail":
            out.append(
                f"Catastrophic failures rise {fmt.percent(sl.catastrophic_base)} →"
                f" {fmt.percent(sl.catastrophic_cand)}, beyond the allowed"
                f" {fmt.signed_points(sl.max_catastrophic_increase)} pts."
            )
        share = fmt.percent(sl.weight)
        if conc is not None:
            out.append(
                f"The drop is concentrated in {conc.stratum} (Δ {fmt.signed_points(conc.delta)}"
                f" pts): routing that traffic to {base} may be enough; otherwise keep all"
                f" {sl.slice} traffic ({share} of production) on {base}."
            )
        else:
            out.append(f"Keep {sl.slice} traffic ({share} of production) on {base}.")
        out.append(
            "Or try a finer quantization (more bits, a smaller group size, or these layers"
            " kept in higher precision) and compare again."
        )
    elif sl.status == "inconclusive" and not sl.guards:
        needed = sl.items_needed
        if needed is None:
            out.append(
                "More items would not decide it (Δ sits at the margin, or no item flipped)."
                " Choices: accept it with a wider margin for this slice in the policy, treat"
                " it as NO-GO, or compare a finer quantization."
            )
        elif needed > TOO_MANY * max(sl.n_items, 1):
            out.append(
                f"~{fmt.count(needed)} more paired items would be needed, over {TOO_MANY}×"
                f" the {fmt.count(sl.n_items)} this slice holds: more items are unlikely to"
                " settle it. Choices: accept it with a wider margin for this slice in the"
                " policy, treat it as NO-GO, or compare a finer quantization."
            )
        else:
            out.append(
                f"Run ~{fmt.count(needed)} more paired items on {sl.slice} (it has"
                f" {fmt.count(sl.n)}): raise its items per stratum in the suite and"
                " compare again."
            )
    return out


def drivers(summary: Summary) -> list[Driver]:
    """Failed slices (worst Δ first), then inconclusive ones; empty for GO."""
    order = {"fail": 0, "inconclusive": 1}
    rows = [s for s in summary.slices if s.status in order]
    rows.sort(key=lambda s: (order[s.status], s.delta if s.delta is not None else 0.0))
    out = []
    for sl in rows:
        worst = worst_strata(sl)
        conc = _concentrated(sl, worst)
        out.append(Driver(sl, worst, conc, _advice(sl, summary.base_label, conc)))
    return out


def next_step(summary: Summary) -> str:
    """One sentence for the top of the verdict box."""
    if summary.verdict == "go":
        return (
            f"Every slice passed: {summary.cand_label} can replace {summary.base_label} for"
            " the measured traffic."
        )
    fails = [s.slice for s in summary.slices if s.status == "fail"]
    undecided = [s.slice for s in summary.slices if s.status == "inconclusive"]
    if summary.verdict == "no-go" and fails:
        lose = "loses more than its margin" if len(fails) == 1 else "lose more than their margins"
        return (
            f"Do not swap as is: {', '.join(fails)} {lose}. Keep that traffic on"
            f" {summary.base_label} or try a finer quantization."
        )
    if summary.verdict == "no-go":
        return (
            f"The policy treats undecided slices as NO-GO: {', '.join(undecided)} need more"
            " evidence (see below)."
        )
    return f"Not decided yet: {', '.join(undecided)} need more evidence (see below)."


def captions(summary: Summary) -> tuple[str, str]:
    """(traffic-weighted card caption, worst-slice card caption), true to this verdict."""
    h = summary.headline
    margin = summary.policy.margin
    if h.ci_low is None:
        first = "no slice had a valid pair"
    elif h.ci_low > -margin:
        first = (
            "the production mix alone would have approved the swap"
            if summary.verdict != "go"
            else "the production mix agrees"
        )
    elif h.ci_high is not None and h.ci_high < -margin:
        first = "even the production mix loses more than the default margin"
    else:
        first = "the production mix alone is undecided"
    worst = next((s for s in summary.slices if s.slice == h.worst_slice), None)
    if worst is None:
        second = "no slice to show"
    elif worst.status == "fail":
        second = "this tail slice stops the swap"
    elif worst.status == "pass":
        second = "even the worst slice stays within its margin"
    else:
        second = "the worst slice is not decided yet"
    return first, second


def strata_for_table(sl: SliceSummary) -> list[StratumSummary]:
    """The slice's strata in numeric dimension order."""
    return ordered_strata(sl.strata)
