"""The verdict of a comparison: what `summary.json` holds and every consumer reads.

Scores, deltas, CIs, rates, margins and limits are fractions in [0, 1] (a delta lies in
[-1, 1]; negative is worse for the candidate). A value that could not be computed (a slice
with no valid pair, say) is None, never NaN. `Summary.model_dump_json()` is summary.json.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evalcliff.schema.run import RunHeader
from evalcliff.schema.version import SCHEMA_VERSION

Verdict = Literal["go", "no-go", "inconclusive"]
Status = Literal["pass", "fail", "inconclusive"]
# Why a slice cannot pass whatever its CI says (see README "Verdict"):
#   no_pairs    - no item is valid (error-free) in both runs
#   errors      - the share of items that errored (either run) exceeds max_error_rate
#   floor       - the base's mean is at or below min_base_score: the slice measures nothing
#   one_cluster - all items share one cluster: the cluster bootstrap has no spread
Guard = Literal["no_pairs", "errors", "floor", "one_cluster"]

EXIT_CODES: dict[Verdict, int] = {"go": 0, "no-go": 1, "inconclusive": 3}


class StratumSummary(BaseModel):
    """One stratum of a slice: delta and CI over its valid pairs (description only)."""

    model_config = ConfigDict(extra="forbid")

    stratum: str
    n: int = Field(ge=0)
    base_mean: float | None
    cand_mean: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None


class SliceSequential(BaseModel):
    """How a slice of a sequential run was judged: sampling stopped after look `look` of
    `looks`, when `information` (the share of its planned items run) had been reached; its
    CI is the repeated CI with z bound `boundary` at that look (not a fixed-n bootstrap CI).
    `items_used` of the slice's `items_max` items were run per variant (`items_max`: what
    the fixed-n, maximal design runs)."""

    model_config = ConfigDict(extra="forbid")

    look: int = Field(ge=1)
    looks: int = Field(ge=2)
    boundary: float
    information: float = Field(gt=0.0, le=1.0)
    items_used: int = Field(ge=0)
    items_max: int = Field(ge=0)


class SliceSummary(BaseModel):
    """One slice's paired statistics, the limits that applied to it, and its decision.

    `n` counts valid pairs (items error-free in both runs); `n_items` every item of the
    slice; `error_rate` = (n_items - n) / n_items, the share that left the pairing.
    `score_status` decides the mean against `margin`, `catastrophic_status` the rise of the
    catastrophic rate against `max_catastrophic_increase` (None: no rule); `status` combines
    them with the `guards` that stop a pass. `items_needed`: more paired items that would
    likely decide an inconclusive slice (None when more items would not help).
    `sequential` is set when the runs were sampled sequentially: then `ci_low`/`ci_high` and
    the catastrophic CI are repeated CIs at the slice's stopping look.
    """

    model_config = ConfigDict(extra="forbid")

    slice: str
    n: int = Field(ge=0)
    n_items: int = Field(ge=0)
    base_mean: float | None
    cand_mean: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    flips_regressed: int = Field(ge=0)
    flips_improved: int = Field(ge=0)
    mcnemar_p: float | None
    mcnemar_p_holm: float | None = None
    regressed: bool = False
    margin: float
    weight: float
    max_catastrophic_increase: float | None
    max_error_rate: float | None
    min_base_score: float | None
    status: Status
    score_status: Status
    catastrophic_status: Status
    guards: list[Guard] = Field(default_factory=list)
    unreliable: list[str] = Field(default_factory=list)
    catastrophic_base: float | None
    catastrophic_cand: float | None
    catastrophic_delta: float | None
    catastrophic_ci_low: float | None
    catastrophic_ci_high: float | None
    items_needed: int | None = None
    n_errors_base: int = Field(ge=0)
    n_errors_cand: int = Field(ge=0)
    error_rate: float = Field(ge=0.0, le=1.0)
    n_clusters: int = Field(ge=0)
    n_informative: int = Field(ge=0)
    strata: list[StratumSummary] = Field(default_factory=list)
    # Distribution metrics (descriptive; see evalcliff.distribution): None when not measured.
    kl_mean: float | None = None
    kl_ci_low: float | None = None
    kl_ci_high: float | None = None
    top1_agreement: float | None = None
    top1_ci_low: float | None = None
    top1_ci_high: float | None = None
    sequential: SliceSequential | None = None


class Headline(BaseModel):
    """The traffic-weighted delta (slices re-weighted to the production mix) with its CI,
    beside the worst slice. None when no slice has a valid pair."""

    model_config = ConfigDict(extra="forbid")

    traffic_weighted_delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    worst_slice: str | None = None
    worst_delta: float | None = None


class EffectiveSlicePolicy(BaseModel):
    """The settings a slice was judged with, after resolution (default < suite < policy)."""

    model_config = ConfigDict(extra="forbid")

    margin: float
    weight: float
    max_catastrophic_increase: float | None
    max_error_rate: float | None
    min_base_score: float | None


class EffectivePolicy(BaseModel):
    """The policy as applied: its top-level values and each slice's resolved settings."""

    model_config = ConfigDict(extra="forbid")

    confidence: float
    margin: float
    inconclusive: Literal["inconclusive", "no-go"]
    unreliable_pass: Literal["pass", "inconclusive"]
    uninformative: Literal["inconclusive", "fail"]
    max_catastrophic_increase: float | None
    max_error_rate: float | None
    min_base_score: float | None
    n_resamples: int
    seed: int
    source: str | None = None  # the policy file, None for the built-in default
    slices: dict[str, EffectiveSlicePolicy] = Field(default_factory=dict)


class DistributionInfo(BaseModel):
    """How the descriptive distribution metrics (token KL, top-1 agreement) were measured."""

    model_config = ConfigDict(extra="forbid")

    method: str
    n_items: int = Field(ge=0)


class SequentialSummary(BaseModel):
    """What a sequential run saved. Item counts are per variant, over all slices:
    `items_used` run, `items_max` the fixed-n (maximal) design, `items_saved` the
    difference. `seconds_per_item` is each side's measured generation seconds per computed
    item (from its run header's perf; None when nothing was computed), and
    `seconds_saved_estimate` = sum over both variants of items saved x seconds per item:
    an estimate, in generation seconds (variants running side by side save less wall time).
    `looks_wall_s` is the wall time the looks took in the run that wrote the files, worker
    start-up and model loading included (once when the variants' workers serve every look,
    per look with `--jobs 1`: the price of looking, to compare with the time saved).
    `boundary_constant` is C of the bounds C / sqrt(t) at the policy's confidence."""

    model_config = ConfigDict(extra="forbid")

    looks: int = Field(ge=2)
    confidence: float
    boundary_constant: float
    items_used: int = Field(ge=0)
    items_max: int = Field(ge=0)
    items_saved: int = Field(ge=0)
    seconds_per_item: dict[str, float | None] = Field(default_factory=dict)
    seconds_saved_estimate: float | None = None
    looks_wall_s: float | None = None


class Summary(BaseModel):
    """A comparison's verdict with its reasons, headline, slices, effective policy and the
    two runs' headers (None for a headerless results file; `base_label`/`cand_label` name
    the runs either way). `n_paired` counts valid pairs, `n_items` all paired item ids.
    `sequential` is set when the runs carry a sequential design (`report --sequential`)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    headline: Headline = Field(default_factory=Headline)
    slices: list[SliceSummary] = Field(default_factory=list)
    policy: EffectivePolicy
    n_paired: int = Field(ge=0)
    n_items: int = Field(ge=0)
    n_errors_base: int = Field(default=0, ge=0)
    n_errors_cand: int = Field(default=0, ge=0)
    warnings: list[str] = Field(default_factory=list)
    base_label: str = "base"
    cand_label: str = "cand"
    base: RunHeader | None = None
    cand: RunHeader | None = None
    distribution: DistributionInfo | None = None
    sequential: SequentialSummary | None = None

    @property
    def exit_code(self) -> int:
        """The CLI exit code of the verdict: 0 go, 1 no-go, 3 inconclusive."""
        return EXIT_CODES[self.verdict]

    def slice_named(self, name: str) -> SliceSummary:
        """The slice row called `name`; KeyError when there is none."""
        for row in self.slices:
            if row.slice == name:
                return row
        raise KeyError(name)
