"""The sequential gate: judge a slice at a look of a group-sequential run, and judge stored
sequential runs by the same rule.

A slice of a sequential run (`report --sequential K`) is sampled in K stratified looks and
stops once decided. Judging its optionally stopped data with a fixed-n CI would inflate the
false-GO rate, so its score CI is the *repeated* CI d +- c * se at the look where it stopped,
with c = C / sqrt(t) (O'Brien-Fleming in information time t, the share of its planned items
run; see `evalcliff.stats.sequential`) and a cluster-robust se. Repeated CIs hold their level
jointly over all looks, whatever rule stopped the sampling, so a stored sequential run can be
judged later under another margin or confidence. The catastrophic-rise CI is a repeated CI
too; the error, floor, one-cluster and uninformative rules apply unchanged.

The stopping rule at look k (`look_decision`) is the gate's own status at that look, with two
precautions:
- a rule's *fail* (score or catastrophic) stops the slice; a fail that comes only from the
  floor (`uninformative: fail`) does not, since the floor is a point estimate more items move;
- a *pass* stops the slice only when its interval is one the validation study trusts at the
  look's own level (`reliability_problems` at the level of c): enough items, clusters and
  informative units, or an exact bound on the changed share below the margin. Without this
  a look with no flip has se 0 and would pass at once: on 160-item slices that took the
  false-GO rate from 4% to 18% in simulation.
At the final look (K, or once the slice's items are exhausted) the decision is the status.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalcliff.errors import EvalcliffError
from evalcliff.gate.policy import Policy
from evalcliff.gate.slices import SliceSettings, judge, valid_pairs
from evalcliff.schema.run import SequentialDesign, SequentialSlice
from evalcliff.schema.summary import Guard, SliceSequential, Status
from evalcliff.stats.reliability import informative_units, reliability_problems
from evalcliff.stats.sequential import Decision, boundary_at, boundary_level, repeated_interval


@dataclass(frozen=True)
class LookDecision:
    """A slice at one look: `decision` (pass/fail stop sampling it, continue asks for the
    next look, inconclusive only at the final look), the gate's `status` there, and the z
    bound of its repeated CI."""

    decision: Decision
    status: Status
    boundary: float


def information(planned: list[int], look: int) -> float:
    """The share of a slice's planned items held by looks 1..`look` (cumulative `planned`)."""
    total = planned[-1]
    return 1.0 if total <= 0 else planned[look - 1] / total


def look_decision(
    items: pd.DataFrame,
    settings: SliceSettings,
    policy: Policy,
    boundary: float,
    final: bool,
) -> LookDecision:
    """The sequential decision for one slice on its paired items so far (`pair_runs` rows,
    errored ones included), judged with repeated CIs of z bound `boundary` (fractions
    throughout). `final`: the last look the slice can have (no decision can be deferred)."""
    g, _, error_rate = valid_pairs(items)
    guards: list[Guard] = []
    if settings.max_error_rate is not None and error_rate > settings.max_error_rate:
        guards.append("errors")
    if g.empty:
        return LookDecision("inconclusive" if final else "continue", "inconclusive", boundary)
    clusters = g["cluster_id"].to_numpy()
    diffs = (g["score_cand"] - g["score_base"]).to_numpy(dtype=np.float64)
    cat_diffs = g["catastrophic_cand"].to_numpy(dtype=np.float64) - g["catastrophic_base"].to_numpy(
        dtype=np.float64
    )
    _, lo, hi = repeated_interval(diffs, clusters, boundary)
    _, c_lo, c_hi = repeated_interval(cat_diffs, clusters, boundary)
    n_units = int(pd.unique(clusters).size)
    n_informative = informative_units(diffs, clusters)
    j = judge(
        (lo, hi), (c_lo, c_hi), n=len(g), n_units=n_units, n_informative=n_informative,
        base_mean=float(g["score_base"].mean()), guards=guards, settings=settings,
        policy=policy,
    )  # fmt: skip
    decision: Decision
    if final:
        decision = j.status
    elif "fail" in (j.score_status, j.catastrophic_status):
        decision = "fail"
    elif j.status == "pass" and not reliability_problems(
        len(g), n_units, n_informative, settings.margin, boundary_level(boundary)
    ):
        decision = "pass"
    else:
        decision = "continue"
    return LookDecision(decision, j.status, boundary)


def slice_boundary(record: SequentialSlice, looks: int, confidence: float) -> float:
    """The z bound of a stored slice's repeated CI at its stopping look, at `confidence`."""
    return boundary_at(information(record.planned, record.stopped_at), looks, confidence)


def slice_record(record: SequentialSlice, looks: int, boundary: float) -> SliceSequential:
    """The summary's per-slice sequential fields from the run's record."""
    return SliceSequential(
        look=record.stopped_at,
        looks=looks,
        boundary=boundary,
        information=information(record.planned, record.stopped_at),
        items_used=record.planned[record.stopped_at - 1],
        items_max=record.planned[-1],
    )


def check_design(design: SequentialDesign, paired: pd.DataFrame) -> None:
    """EvalcliffError unless every slice of the paired runs is in the design with exactly
    the items its stopping look holds: otherwise the repeated CI would judge other data."""
    counts = paired.groupby("slice", sort=False).size()
    for name, n in counts.items():
        record = design.slices.get(str(name))
        if record is None:
            raise EvalcliffError(
                f"slice {name!r} is not in the runs' sequential design (slices:"
                f" {', '.join(design.slices) or 'none'}); the runs were merged from other runs"
            )
        if len(record.planned) != design.looks or not 1 <= record.stopped_at <= design.looks:
            raise EvalcliffError(
                f"slice {name!r}: its sequential record has {len(record.planned)} looks and"
                f" stops at look {record.stopped_at}, but the design has {design.looks}"
            )
        used = record.planned[record.stopped_at - 1]
        if int(n) != used:
            raise EvalcliffError(
                f"slice {name!r}: the runs hold {int(n)} items but the sequential design ran"
                f" {used} (to look {record.stopped_at} of {design.looks}); the files do not"
                " match their design"
            )
