"""Per-slice paired statistics and the slice-level non-inferiority decision.

Only valid pairs (items without an error in either run) feed the statistics; errored items
are counted per side. Guards stop a slice from passing whatever its CI says: no valid pair,
too many errors, a base at the floor (the slice measures nothing for this model), or a
single cluster (a bootstrap with no spread).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from evalcliff.gate.policy import Policy
from evalcliff.gate.reasons import ci_name
from evalcliff.schema.summary import Guard, SliceSummary, Status, StratumSummary
from evalcliff.stats import BootstrapResult, items_needed, mcnemar_exact, paired_bootstrap
from evalcliff.stats.reliability import (
    MIN_UNITS,
    informative_units,
    items_for_reliability,
    reliability_problems,
)
from evalcliff.stats.sequential import repeated_interval


@dataclass(frozen=True)
class SliceSettings:
    """A slice's resolved settings (fractions): margin, catastrophic limit, error-share
    limit, base-score floor (a None limit is no rule) and normalised traffic weight."""

    margin: float
    limit: float | None
    max_error_rate: float | None
    min_base_score: float | None
    weight: float


def slice_rng(seed: int, name: str) -> np.random.Generator:
    """The slice's own stream, derived from the policy seed and the slice name, so a slice's
    numbers do not depend on which other slices are present or on row order."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def score_status(ci_low: float, ci_high: float, margin: float) -> Status:
    """pass: CI low > -margin; fail: CI high < -margin; else inconclusive."""
    if ci_low > -margin:
        return "pass"
    if ci_high < -margin:
        return "fail"
    return "inconclusive"


def rule_status(ci_low: float, ci_high: float, limit: float | None) -> Status:
    """Catastrophic rule: fail when the rise's CI low > limit, inconclusive when its CI high
    > limit, pass otherwise (and always when there is no limit)."""
    if limit is None or ci_high <= limit:
        return "pass"
    return "fail" if ci_low > limit else "inconclusive"


def single_cluster_rule(
    s_status: Status, c_status: Status, n_units: int, limit: float | None
) -> tuple[Status, Status]:
    """(score status, catastrophic status) after the single-cluster rule: with fewer than
    MIN_UNITS resampling units the bootstrap "CI" is a point, evidence of nothing, so both
    parts are inconclusive (a catastrophic part with no limit stays pass)."""
    if n_units >= MIN_UNITS:
        return s_status, c_status
    return "inconclusive", "pass" if limit is None else "inconclusive"


def combine(*statuses: Status) -> Status:
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


def strata_rows(g: pd.DataFrame, policy: Policy, rng: np.random.Generator) -> list[StratumSummary]:
    """Per-stratum delta and CI over valid pairs (description only: strata decide nothing)."""
    rows = []
    for stratum, s in g.groupby("stratum", sort=True):
        diffs = (s["score_cand"] - s["score_base"]).to_numpy(dtype=np.float64)
        boot = paired_bootstrap(
            diffs, s["cluster_id"].to_numpy(), policy.n_resamples, policy.confidence, rng
        )
        rows.append(
            StratumSummary(
                stratum=str(stratum),
                n=len(s),
                base_mean=_mean(s["score_base"]),
                cand_mean=_mean(s["score_cand"]),
                delta=boot.mean,
                ci_low=boot.ci_low,
                ci_high=boot.ci_high,
            )
        )
    return rows


def _empty_row(
    name: str, n_items: int, n_err: tuple[int, int], guards: list[Guard], settings: SliceSettings
) -> SliceSummary:
    """A slice with no valid pair: nothing measured, nothing decided."""
    return SliceSummary(
        slice=name,
        n=0,
        n_items=n_items,
        base_mean=None,
        cand_mean=None,
        delta=None,
        ci_low=None,
        ci_high=None,
        flips_regressed=0,
        flips_improved=0,
        mcnemar_p=None,
        margin=settings.margin,
        weight=settings.weight,
        max_catastrophic_increase=settings.limit,
        max_error_rate=settings.max_error_rate,
        min_base_score=settings.min_base_score,
        status="inconclusive",
        score_status="inconclusive",
        catastrophic_status="pass" if settings.limit is None else "inconclusive",
        guards=guards,
        catastrophic_base=None,
        catastrophic_cand=None,
        catastrophic_delta=None,
        catastrophic_ci_low=None,
        catastrophic_ci_high=None,
        n_errors_base=n_err[0],
        n_errors_cand=n_err[1],
        error_rate=1.0 if n_items else 0.0,
        n_clusters=0,
        n_informative=0,
    )


@dataclass(frozen=True)
class Judgement:
    """A slice's decision from its intervals and counts (see `judge`)."""

    status: Status
    score_status: Status
    catastrophic_status: Status
    guards: list[Guard]
    unreliable: list[str]
    blocking: list[Guard]


def judge(
    ci: tuple[float, float],
    cat_ci: tuple[float, float],
    *,
    n: int,
    n_units: int,
    n_informative: int,
    base_mean: float,
    guards: list[Guard],
    settings: SliceSettings,
    policy: Policy,
) -> Judgement:
    """The slice's statuses from its score CI and catastrophic-rise CI (fractions), its
    valid pairs `n`, resampling units, informative units and base mean, with the guards
    found so far (`errors`): the one rule shared by the fixed-n and the sequential gate."""
    guards = list(guards)
    s_status = score_status(ci[0], ci[1], settings.margin)
    c_status = rule_status(cat_ci[0], cat_ci[1], settings.limit)
    if settings.min_base_score is not None and base_mean <= settings.min_base_score:
        guards.append("floor")
    if n_units < MIN_UNITS:
        guards.append("one_cluster")
    s_status, c_status = single_cluster_rule(s_status, c_status, n_units, settings.limit)
    unreliable: list[str] = []
    if policy.unreliable_pass == "inconclusive" and s_status == "pass":
        unreliable = reliability_problems(
            n, n_units, n_informative, settings.margin, policy.confidence
        )
        if unreliable:
            s_status = "inconclusive"
    status = combine(s_status, c_status)
    blocking: list[Guard] = [x for x in guards if x != "one_cluster"]
    if blocking and status == "pass":
        # A guard stops a pass; a fail stays a fail (a gate errs towards blocking).
        only_floor = blocking == ["floor"]
        status = "fail" if only_floor and policy.uninformative == "fail" else "inconclusive"
    return Judgement(status, s_status, c_status, guards, unreliable, blocking)


def valid_pairs(items: pd.DataFrame) -> tuple[pd.DataFrame, tuple[int, int], float]:
    """(the pairs error-free in both runs, errors per side, error share of the slice)."""
    n_items = len(items)
    n_err = (int(items["error_base"].sum()), int(items["error_cand"].sum()))
    g = items[~items["error_base"] & ~items["error_cand"]]
    return g, n_err, (n_items - len(g)) / n_items if n_items else 0.0


def slice_row(
    name: str,
    items: pd.DataFrame,
    settings: SliceSettings,
    policy: Policy,
    boundary: float | None = None,
) -> tuple[SliceSummary, BootstrapResult | None]:
    """One slice's summary row (the Holm-adjusted p is left for the caller) and its score
    bootstrap (None when the slice has no valid pair).

    `items` holds every paired item of the slice (see `pair_runs`), errored ones included:
    they are counted, then left out of every statistic. `boundary` (a z bound) marks a slice
    of a sequential run: its score and catastrophic CIs are then the repeated CIs
    mean +- boundary * se (cluster-robust; see `evalcliff.gate.sequential`) instead of the
    percentile bootstrap's, and every other rule applies unchanged.
    """
    n_items = len(items)
    g, n_err, error_rate = valid_pairs(items)
    guards: list[Guard] = []
    if settings.max_error_rate is not None and error_rate > settings.max_error_rate:
        guards.append("errors")
    if g.empty:
        return _empty_row(name, n_items, n_err, ["no_pairs", *guards], settings), None

    rng = slice_rng(policy.seed, name)
    conf, n_res = policy.confidence, policy.n_resamples
    clusters = g["cluster_id"].to_numpy()
    clustered = g["cluster_id"].nunique() < len(g)
    diffs = (g["score_cand"] - g["score_base"]).to_numpy(dtype=np.float64)
    boot = paired_bootstrap(diffs, clusters, n_res, conf, rng)
    cat_base = g["catastrophic_base"].to_numpy(dtype=np.float64)
    cat_diffs = g["catastrophic_cand"].to_numpy(dtype=np.float64) - cat_base
    cat = paired_bootstrap(cat_diffs, clusters, n_res, conf, rng)
    base_mean = _mean(g["score_base"])
    n_informative = informative_units(diffs, clusters)

    ci, cat_ci = (boot.ci_low, boot.ci_high), (cat.ci_low, cat.ci_high)
    if boundary is not None:
        _, lo, hi = repeated_interval(diffs, clusters, boundary)
        _, c_lo, c_hi = repeated_interval(cat_diffs, clusters, boundary)
        ci, cat_ci = (lo, hi), (c_lo, c_hi)
    j = judge(
        ci, cat_ci, n=len(g), n_units=boot.n_units, n_informative=n_informative,
        base_mean=base_mean, guards=guards, settings=settings, policy=policy,
    )  # fmt: skip
    s_status, c_status = j.score_status, j.catastrophic_status

    needed = None
    if j.status == "inconclusive" and not j.blocking:
        wanted = []
        if s_status == "inconclusive":
            var = _variance(diffs, boot, clustered)
            wanted.append(items_needed(boot.mean, var, len(g), settings.margin, conf))
        if c_status == "inconclusive" and settings.limit is not None:
            var = _variance(cat_diffs, cat, clustered)
            wanted.append(items_needed(cat.mean, var, len(g), -settings.limit, conf))
        known = [w for w in wanted if w is not None]
        needed = max(known) if known else None
        if j.unreliable:
            need = items_for_reliability(len(g), n_informative, clustered, settings.margin, conf)
            needed = max(need, needed or 0)

    regressed = int((g["correct_base"] & ~g["correct_cand"]).sum())
    improved = int((~g["correct_base"] & g["correct_cand"]).sum())
    row = SliceSummary(
        slice=name,
        n=len(g),
        n_items=n_items,
        base_mean=base_mean,
        cand_mean=_mean(g["score_cand"]),
        delta=boot.mean,
        ci_low=ci[0],
        ci_high=ci[1],
        flips_regressed=regressed,
        flips_improved=improved,
        mcnemar_p=mcnemar_exact(regressed, improved),
        margin=settings.margin,
        weight=settings.weight,
        max_catastrophic_increase=settings.limit,
        max_error_rate=settings.max_error_rate,
        min_base_score=settings.min_base_score,
        status=j.status,
        score_status=s_status,
        catastrophic_status=c_status,
        guards=j.guards,
        unreliable=j.unreliable,
        catastrophic_base=_mean(g["catastrophic_base"]),
        catastrophic_cand=_mean(g["catastrophic_cand"]),
        catastrophic_delta=cat.mean,
        catastrophic_ci_low=cat_ci[0],
        catastrophic_ci_high=cat_ci[1],
        items_needed=needed,
        n_errors_base=n_err[0],
        n_errors_cand=n_err[1],
        error_rate=error_rate,
        n_clusters=boot.n_units,
        n_informative=n_informative,
        strata=strata_rows(g, policy, rng),
    )
    return row, boot


def reliability_warning(row: SliceSummary, confidence: float) -> str | None:
    """A warning for a slice whose CI the validation study found unreliable, else None."""
    if row.n == 0:
        return None
    problems = reliability_problems(
        row.n, row.n_clusters, row.n_informative, row.margin, confidence
    )
    if not problems:
        return None
    return (
        f"{row.slice}: its {ci_name(row, confidence)} may cover less than nominal"
        f" ({'; '.join(problems)}), so its {row.status} status is less certain than it"
        " looks; see README 'Statistics'"
    )
