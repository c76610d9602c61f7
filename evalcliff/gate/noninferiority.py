"""Paired non-inferiority comparison of two runs: per-slice decisions and the verdict.

See DESIGN.md "Verdict semantics": GO needs every slice to pass (intersection-union test),
NO-GO if any slice fails, else INCONCLUSIVE (or NO-GO under a strict policy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from evalcliff.errors import EvalcliffError
from evalcliff.gate.pairing import pair_runs
from evalcliff.gate.policy import Policy
from evalcliff.gate.reasons import verdict_reasons
from evalcliff.gate.slices import SliceSettings, combine, reliability_warning, slice_row
from evalcliff.stats import holm, weighted_bootstrap
from evalcliff.stats.reliability import items_for_reliability, reliability_problems

EXIT_CODES: dict[str, int] = {"go": 0, "no-go": 1, "inconclusive": 3}

SliceDefaults = Mapping[str, Mapping[str, Any]]

_UNSET = object()


def _default(defaults: SliceDefaults | None, name: str, key: str) -> Any:
    """slice_defaults[name][key], or _UNSET when absent; validated as a fraction >= 0."""
    entry = (defaults or {}).get(name, {})
    if key not in entry:
        return _UNSET
    value = entry[key]
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not number >= 0.0 or math.isinf(number):
        raise EvalcliffError(f"suite slice {name!r}: {key} must be a number >= 0, got {value!r}")
    return number


def _settings(
    name: str, weight: float, policy: Policy, defaults: SliceDefaults | None
) -> SliceSettings:
    """Policy slice override > suite default > policy default (an explicit null limit in the
    policy or suite disables the catastrophic rule)."""
    override = policy.slices.get(name)
    margin = override.margin if override is not None else None
    if margin is None:
        suite_margin = _default(defaults, name, "margin")
        margin = policy.margin if suite_margin in (None, _UNSET) else suite_margin
    if override is not None and "max_catastrophic_increase" in override.model_fields_set:
        limit = override.max_catastrophic_increase
    else:
        suite_limit = _default(defaults, name, "max_catastrophic_increase")
        limit = policy.max_catastrophic_increase if suite_limit is _UNSET else suite_limit
    limit = None if limit is None else float(limit)
    return SliceSettings(margin=float(margin), limit=limit, weight=weight)


def _weights(names: list[str], policy: Policy, defaults: SliceDefaults | None) -> list[float]:
    """Traffic shares, normalised to sum to 1 over the slices present.

    Policy weight > suite weight. Slices with neither share what is left of 1 equally (all
    equal when no slice has a weight).
    """
    raw: list[float | None] = []
    for name in names:
        override = policy.slices.get(name)
        w = override.weight if override is not None else None
        if w is None:
            suite_w = _default(defaults, name, "weight")
            w = None if suite_w is _UNSET else suite_w
        raw.append(w)
    given = sum(w for w in raw if w is not None)
    n_missing = sum(w is None for w in raw)
    fill = 1.0 if n_missing == len(raw) else max(0.0, 1.0 - given) / max(1, n_missing)
    filled = [fill if w is None else w for w in raw]
    total = sum(filled)
    if total <= 0:
        raise EvalcliffError(f"policy: slice weights of {names} are all 0; give some a weight > 0")
    return [w / total for w in filled]


def _clean(x: Any) -> Any:
    """Plain JSON values: NaN/inf become None, numpy scalars become Python ones."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _refuse_unreliable_pass(row: dict[str, Any], confidence: float) -> None:
    """Policy `unreliable_pass: inconclusive`: a pass on an unreliable CI is not a pass."""
    problems = reliability_problems(
        row["n"], row["n_clusters"], row["n_informative"], row["margin"], confidence
    )
    if not problems or row["score_status"] != "pass":
        return
    row["unreliable"] = problems
    row["score_status"] = "inconclusive"
    row["status"] = combine("inconclusive", row["catastrophic_status"])
    clustered = row["n_clusters"] < row["n"]
    need = items_for_reliability(
        row["n"], row["n_informative"], clustered, row["margin"], confidence
    )
    row["items_needed"] = max(need, row["items_needed"] or 0)


def compare_runs(
    base: pd.DataFrame,
    cand: pd.DataFrame,
    policy: Policy,
    slice_defaults: SliceDefaults | None = None,
) -> dict[str, Any]:
    """Compare a candidate run with a base run on the same items and give a release verdict.

    `base`/`cand` are per-item results tables (see evalcliff.results). `slice_defaults` maps a
    slice name to the suite's defaults ({"margin", "weight", "max_catastrophic_increase"});
    the policy's per-slice entries override them. Returns the summary.json structure without
    the "base"/"cand" headers: verdict, reasons, headline, slices (in order of first appearance
    in `base`), the effective policy, n_paired and warnings. All deltas, CIs, rates and margins
    are fractions; every value is JSON-serialisable (NaN never appears). Deterministic for a
    given policy.seed. Raises EvalcliffError when the runs cannot be paired.
    """
    paired = pair_runs(base, cand)
    first_seen = paired.groupby("slice")["base_position"].min().sort_values(kind="stable")
    names = [str(n) for n in first_seen.index]
    weights = _weights(names, policy, slice_defaults)

    rows, boots = [], []
    effective: dict[str, dict[str, Any]] = {}
    for name, weight in zip(names, weights, strict=True):
        settings = _settings(name, weight, policy, slice_defaults)
        row, boot = slice_row(name, paired[paired["slice"] == name], settings, policy)
        rows.append(row)
        boots.append(boot)
        effective[name] = {
            "margin": settings.margin,
            "weight": weight,
            "max_catastrophic_increase": settings.limit,
        }

    if policy.unreliable_pass == "inconclusive":
        for row in rows:
            _refuse_unreliable_pass(row, policy.confidence)

    alpha = 1.0 - policy.confidence
    for row, p_adj in zip(rows, holm([r["mcnemar_p"] for r in rows]), strict=True):
        row["mcnemar_p_holm"] = float(p_adj)
        row["regressed"] = bool(p_adj < alpha and row["delta"] < 0)

    statuses = {r["status"] for r in rows}
    if "fail" in statuses:
        verdict = "no-go"
    elif statuses == {"pass"}:
        verdict = "go"
    else:
        verdict = policy.inconclusive
    mapped = verdict == "no-go" and "fail" not in statuses

    head = weighted_bootstrap(boots, weights, policy.confidence)
    worst = min(rows, key=lambda r: r["delta"])
    warnings = [
        f"policy names slice {s!r}, which is not in the results; its settings were not used"
        for s in policy.slices
        if s not in effective
    ]
    warnings += [
        f"{r['slice']}: {r['n_errors_base']} item(s) errored in base and {r['n_errors_cand']}"
        " in cand; they are scored as recorded"
        for r in rows
        if r["n_errors_base"] or r["n_errors_cand"]
    ]
    warnings += [w for r in rows if (w := reliability_warning(r, policy.confidence))]
    summary = {
        "verdict": verdict,
        "reasons": verdict_reasons(rows, policy.confidence, mapped),
        "headline": {
            "traffic_weighted_delta": head.mean,
            "ci_low": head.ci_low,
            "ci_high": head.ci_high,
            "worst_slice": worst["slice"],
            "worst_delta": worst["delta"],
        },
        "slices": rows,
        "policy": {**policy.model_dump(mode="json", exclude={"slices"}), "slices": effective},
        "n_paired": len(paired),
        "warnings": warnings,
    }
    cleaned: dict[str, Any] = _clean(summary)
    return cleaned
