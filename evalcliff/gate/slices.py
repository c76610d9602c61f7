"""Per-slice paired statistics and the slice-level non-inferiority decision."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from evalcliff.gate.policy import Policy
from evalcliff.stats import BootstrapResult, items_needed, mcnemar_exact, paired_bootstrap
from evalcliff.stats.reliability import MIN_UNITS, informative_units, reliability_problems


@dataclass(frozen=True)
class SliceSettings:
    """A slice's resolved margin, catastrophic limit (fractions; limit None = no rule) and
    normalised traffic weight."""

    margin: float
    limit: float | None
    weight: float


def slice_rng(seed: int, name: str) -> np.random.Generator:
    """The slice's own stream, derived from the policy seed and the slice name, so a slice's
    numbers do not depend on which other slices are present or on row order."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def score_status(ci_low: float, ci_high: float, margin: float) -> str:
    """pass: CI low > -margin; fail: CI high < -margin; else inconclusive."""
    if ci_low > -margin:
        return "pass"
    if ci_high < -margin:
        return "fail"
    return "inconclusive"


def rule_status(ci_low: float, ci_high: float, limit: float | None) -> str:
    """Catastrophic rule: fail when the rise's CI low > limit, inconclusive when its CI high
    > limit, pass otherwise (and always when there is no limit)."""
    if limit is None or ci_high <= limit:
        return "pass"
    return "fail" if ci_low > limit else "inconclusive"


def combine(*statuses: str) -> str:
    """fail if any part fails, pass only if all pass, else inconclusive."""
    if "fail" in statuses:
        return "fail"
    return "pass" if all(s == "pass" for s in statuses) else "inconclusive"


def _variance(diffs: npt.NDArray[np.float64], boot: BootstrapResult, clustered: bool) -> float:
    """Per-item variance of the diffs; with clusters, inflated by the observed design effect."""
    var = float(np.var(diffs))
    if clustered:
        var = max(var, len(diffs) * float(np.var(boot.replicates)))
    return var


def _mean(x: pd.Series) -> float:
    return float(np.mean(x.to_numpy(dtype=np.float64)))


def strata_rows(g: pd.DataFrame, policy: Policy, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Per-stratum delta and CI (description only: strata take no decisions)."""
    rows = []
    for stratum, s in g.groupby("stratum", sort=True):
        diffs = (s["score_cand"] - s["score_base"]).to_numpy(dtype=np.float64)
        boot = paired_bootstrap(
            diffs, s["cluster_id"].to_numpy(), policy.n_resamples, policy.confidence, rng
        )
        rows.append(
            {
                "stratum": str(stratum),
                "n": len(s),
                "base_mean": _mean(s["score_base"]),
                "cand_mean": _mean(s["score_cand"]),
                "delta": boot.mean,
                "ci_low": boot.ci_low,
                "ci_high": boot.ci_high,
            }
        )
    return rows


def slice_row(
    name: str, g: pd.DataFrame, settings: SliceSettings, policy: Policy
) -> tuple[dict[str, Any], BootstrapResult]:
    """One slice's summary row (Holm-adjusted fields left for the caller) and its score
    bootstrap.

    All values are plain Python types; deltas and rates are fractions.
    """
    rng = slice_rng(policy.seed, name)
    conf, n_res = policy.confidence, policy.n_resamples
    clusters = g["cluster_id"].to_numpy()
    clustered = g["cluster_id"].nunique() < len(g)
    diffs = (g["score_cand"] - g["score_base"]).to_numpy(dtype=np.float64)
    boot = paired_bootstrap(diffs, clusters, n_res, conf, rng)
    cat_base = g["catastrophic_base"].to_numpy(dtype=np.float64)
    cat_diffs = g["catastrophic_cand"].to_numpy(dtype=np.float64) - cat_base
    cat = paired_bootstrap(cat_diffs, clusters, n_res, conf, rng)

    s_status = score_status(boot.ci_low, boot.ci_high, settings.margin)
    c_status = rule_status(cat.ci_low, cat.ci_high, settings.limit)
    if boot.n_units < MIN_UNITS:  # one cluster: its "CI" is a point, no evidence either way
        s_status = "inconclusive"
        c_status = "pass" if settings.limit is None else "inconclusive"
    status = combine(s_status, c_status)
    needed = None
    if status == "inconclusive":
        wanted = []
        if s_status == "inconclusive":
            var = _variance(diffs, boot, clustered)
            wanted.append(items_needed(boot.mean, var, len(g), settings.margin, conf))
        if c_status == "inconclusive" and settings.limit is not None:
            var = _variance(cat_diffs, cat, clustered)
            wanted.append(items_needed(cat.mean, var, len(g), -settings.limit, conf))
        known = [w for w in wanted if w is not None]
        needed = max(known) if known else None

    regressed = int((g["correct_base"] & ~g["correct_cand"]).sum())
    improved = int((~g["correct_base"] & g["correct_cand"]).sum())
    row: dict[str, Any] = {
        "slice": name,
        "n": len(g),
        "base_mean": _mean(g["score_base"]),
        "cand_mean": _mean(g["score_cand"]),
        "delta": boot.mean,
        "ci_low": boot.ci_low,
        "ci_high": boot.ci_high,
        "flips_regressed": regressed,
        "flips_improved": improved,
        "mcnemar_p": mcnemar_exact(regressed, improved),
        "mcnemar_p_holm": None,  # filled in across slices by the caller
        "regressed": False,
        "margin": settings.margin,
        "weight": settings.weight,
        "status": status,
        "score_status": s_status,
        "catastrophic_status": c_status,
        "catastrophic_base": _mean(g["catastrophic_base"]),
        "catastrophic_cand": _mean(g["catastrophic_cand"]),
        "catastrophic_delta": cat.mean,
        "catastrophic_ci_low": cat.ci_low,
        "catastrophic_ci_high": cat.ci_high,
        "max_catastrophic_increase": settings.limit,
        "items_needed": needed,
        "n_errors_base": int(g["error_base"].sum()),
        "n_errors_cand": int(g["error_cand"].sum()),
        "n_clusters": boot.n_units,
        "n_informative": informative_units(diffs, clusters),
        "strata": strata_rows(g, policy, rng),
    }
    return row, boot


def reliability_warning(row: dict[str, Any], confidence: float) -> str | None:
    """A warning for a slice whose CI the validation study found unreliable, else None."""
    problems = reliability_problems(
        row["n"], row["n_clusters"], row["n_informative"], row["margin"], confidence
    )
    if not problems:
        return None
    return (
        f"{row['slice']}: its {confidence * 100:g}% CI may cover less than nominal"
        f" ({'; '.join(problems)}), so its {row['status']} status is less certain than it"
        " looks; see README 'Statistics'"
    )
