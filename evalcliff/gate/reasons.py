"""Human sentences explaining a verdict. Deltas are fractions; sentences print points (x100)."""

from __future__ import annotations

from collections.abc import Sequence

from evalcliff.schema.summary import SliceSummary

MINUS = "\u2212"


def pts(x: float | None, signed: bool = True) -> str:
    """A fraction as points with one decimal and a true minus sign: -0.073 -> '−7.3'."""
    if x is None:
        return "—"
    value = round(x * 100.0, 1)
    if value == 0.0:
        return "0.0"
    text = f"{value:+.1f}" if signed else f"{value:.1f}"
    return text.replace("-", MINUS)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def ci_name(row: SliceSummary, confidence: float) -> str:
    """'95% CI', or for a slice of a sequential run '95% repeated CI at look k of K'."""
    seq = row.sequential
    if seq is None:
        return f"{confidence * 100:g}% CI"
    return f"{confidence * 100:g}% repeated CI at look {seq.look} of {seq.looks}"


def _ci(row: SliceSummary, low: float | None, high: float | None, confidence: float) -> str:
    return f"{ci_name(row, confidence)} [{pts(low)}, {pts(high)}]"


def _score_sentence(row: SliceSummary, confidence: float) -> str:
    head = f"Δ={pts(row.delta)} pts, {_ci(row, row.ci_low, row.ci_high, confidence)}"
    bound = f"{pts(-row.margin)} pts margin"
    if row.score_status == "fail":
        return f"{head} is entirely below the {bound}"
    return f"{head} straddles the {bound}"


def _catastrophic_sentence(row: SliceSummary, confidence: float) -> str:
    rates = f"{_pct(row.catastrophic_base)} → {_pct(row.catastrophic_cand)}"
    ci = _ci(row, row.catastrophic_ci_low, row.catastrophic_ci_high, confidence)
    head = f"catastrophic rate {pts(row.catastrophic_delta)} pts ({rates}), {ci}"
    limit = f"{pts(row.max_catastrophic_increase)} pts limit"
    if row.catastrophic_status == "fail":
        return f"{head} is entirely above the {limit}"
    return f"{head} reaches above the {limit}"


def _errors_sentence(row: SliceSummary) -> str:
    limit = "" if row.max_error_rate is None else f", above the {_pct(row.max_error_rate)} limit"
    return (
        f"{row.n_errors_base} of {row.n_items} items errored in base and {row.n_errors_cand} in"
        f" cand ({_pct(row.error_rate)} left the pairing{limit}), so the items that remain"
        " cannot stand for the slice; fix the failures and run again"
    )


def _floor_sentence(row: SliceSummary) -> str:
    return (
        f"the base scores {_pct(row.base_mean)} (at or below min_base_score"
        f" {_pct(row.min_base_score)}), so the slice measures nothing for this model and the"
        " candidate cannot be shown non-inferior on it"
    )


def slice_reason(row: SliceSummary, confidence: float) -> str:
    """Why a failing or inconclusive slice is not a pass, in one sentence."""
    if "no_pairs" in row.guards:
        return (
            f"{row.slice}: no item is valid in both runs ({row.n_errors_base} of {row.n_items}"
            f" errored in base, {row.n_errors_cand} in cand): no data, no verdict"
        )
    parts = []
    if "errors" in row.guards:
        parts.append(_errors_sentence(row))
    if "floor" in row.guards:
        parts.append(_floor_sentence(row))
    if "one_cluster" in row.guards:
        parts.append(
            f"all {row.n} items are one cluster, so its cluster bootstrap has no spread and"
            " decides nothing; it needs items from more clusters"
        )
    if row.status == "fail" or not parts:
        if row.unreliable and row.score_status == row.status:
            parts.append(
                "its CI clears the margin but may cover less than nominal ("
                + "; ".join(row.unreliable)
                + "), and the policy (unreliable_pass: inconclusive) does not approve on that"
            )
        elif row.score_status == row.status:
            parts.append(_score_sentence(row, confidence))
        if row.catastrophic_status == row.status:
            parts.append(_catastrophic_sentence(row, confidence))
    text = f"{row.slice}: " + "; ".join(parts)
    if row.status == "inconclusive" and row.items_needed is not None and not row.guards:
        text += f"; about {row.items_needed} more items would decide it"
    return text


def verdict_reasons(rows: Sequence[SliceSummary], confidence: float, mapped: bool) -> list[str]:
    """The reasons list of summary.json: failures first, then undecided slices, then notes.

    `mapped` says the policy turned an inconclusive outcome into no-go.
    """
    failed = [r for r in rows if r.status == "fail"]
    undecided = [r for r in rows if r.status == "inconclusive"]
    reasons: list[str] = []
    if not failed and not undecided:
        has_rule = any(r.max_catastrophic_increase is not None for r in rows)
        rule = "; no catastrophic rate rose beyond its limit" if has_rule else ""
        if len(rows) == 1:
            reasons.append(
                f"the only slice, {rows[0].slice}, passes: its CI lower bound is above its"
                f" margin{rule}"
            )
        else:
            reasons.append(
                f"all {len(rows)} slices pass: every CI lower bound is above its margin{rule}"
            )
    reasons += [slice_reason(r, confidence) for r in failed + undecided]
    if mapped:
        reasons.append(
            f"{len(undecided)} of {len(rows)} slices are undecided and the policy maps"
            " inconclusive to no-go"
        )
    for r in rows:
        if r.regressed and r.status == "pass":
            p = "—" if r.mcnemar_p_holm is None else f"{r.mcnemar_p_holm:.2g}"
            reasons.append(
                f"{r.slice}: more items flipped to wrong than to right (McNemar p={p} after"
                " Holm), though the loss is within the margin"
            )
    return reasons
