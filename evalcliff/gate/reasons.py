"""Human sentences explaining a verdict. Deltas are fractions; sentences print points (x100)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MINUS = "\u2212"


def pts(x: float, signed: bool = True) -> str:
    """A fraction as points with one decimal and a true minus sign: -0.073 -> '−7.3'."""
    value = round(x * 100.0, 1)
    if value == 0.0:
        return "0.0"
    text = f"{value:+.1f}" if signed else f"{value:.1f}"
    return text.replace("-", MINUS)


def _ci(row: dict[str, Any], prefix: str, confidence: float) -> str:
    return (
        f"{confidence * 100:g}% CI [{pts(row[prefix + 'ci_low'])}, {pts(row[prefix + 'ci_high'])}]"
    )


def _score_sentence(row: dict[str, Any], confidence: float) -> str:
    head = f"Δ={pts(row['delta'])} pts, {_ci(row, '', confidence)}"
    bound = f"{pts(-row['margin'])} pts margin"
    if row["score_status"] == "fail":
        return f"{head} is entirely below the {bound}"
    return f"{head} straddles the {bound}"


def _catastrophic_sentence(row: dict[str, Any], confidence: float) -> str:
    rates = f"{row['catastrophic_base'] * 100:.1f}% → {row['catastrophic_cand'] * 100:.1f}%"
    head = (
        f"catastrophic rate {pts(row['catastrophic_delta'])} pts ({rates}), "
        f"{_ci(row, 'catastrophic_', confidence)}"
    )
    limit = f"{pts(row['max_catastrophic_increase'])} pts limit"
    if row["catastrophic_status"] == "fail":
        return f"{head} is entirely above the {limit}"
    return f"{head} reaches above the {limit}"


def slice_reason(row: dict[str, Any], confidence: float) -> str:
    """Why a failing or inconclusive slice is not a pass, in one sentence."""
    parts = []
    if row["n_clusters"] < 2:
        return (
            f"{row['slice']}: all {row['n']} items are one cluster, so its cluster bootstrap"
            " has no spread and decides nothing; it needs items from more clusters"
        )
    if row.get("unreliable") and row["score_status"] == row["status"]:
        parts.append(
            "its CI clears the margin but may cover less than nominal ("
            + "; ".join(row["unreliable"])
            + "), and the policy (unreliable_pass: inconclusive) does not approve on that"
        )
    elif row["score_status"] == row["status"]:
        parts.append(_score_sentence(row, confidence))
    if row["catastrophic_status"] == row["status"]:
        parts.append(_catastrophic_sentence(row, confidence))
    text = f"{row['slice']}: " + "; ".join(parts)
    if row["status"] == "inconclusive" and row["items_needed"] is not None:
        text += f"; about {row['items_needed']} more items would decide it"
    return text


def verdict_reasons(rows: Sequence[dict[str, Any]], confidence: float, mapped: bool) -> list[str]:
    """The reasons list of summary.json: failures first, then undecided slices, then notes.

    `mapped` says the policy turned an inconclusive outcome into no-go.
    """
    failed = [r for r in rows if r["status"] == "fail"]
    undecided = [r for r in rows if r["status"] == "inconclusive"]
    reasons: list[str] = []
    if not failed and not undecided:
        has_rule = any(r["max_catastrophic_increase"] is not None for r in rows)
        rule = "; no catastrophic rate rose beyond its limit" if has_rule else ""
        if len(rows) == 1:
            reasons.append(
                f"the only slice, {rows[0]['slice']}, passes: its CI lower bound is above its"
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
        if r["regressed"] and r["status"] == "pass":
            reasons.append(
                f"{r['slice']}: more items flipped to wrong than to right (McNemar p="
                f"{r['mcnemar_p_holm']:.2g} after Holm), though the loss is within the margin"
            )
    return reasons
