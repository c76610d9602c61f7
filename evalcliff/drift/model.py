"""The drift record: `DriftReport`, written as `drift.json` (keys are a contract for cron
jobs: `status, run, baseline, slices, changes, trend` plus additions)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from evalcliff.schema.version import SCHEMA_VERSION

DriftStatus = Literal["stable", "drifted", "inconclusive"]
SliceStatus = Literal["pass", "fail", "inconclusive"]

DRIFT_EXIT_CODES: dict[str, int] = {"stable": 0, "drifted": 1, "inconclusive": 3}
STATUS_OF_VERDICT: dict[str, DriftStatus] = {
    "go": "stable",
    "no-go": "drifted",
    "inconclusive": "inconclusive",
}


class RunRef(BaseModel):
    """A recorded run as drift names it."""

    model_config = ConfigDict(extra="forbid")

    id: int
    variant: str
    at: str
    weights_fingerprint: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class DriftSlice(BaseModel):
    """One slice of the latest run against the baseline (the gate's numbers, fractions)."""

    model_config = ConfigDict(extra="forbid")

    slice: str
    status: SliceStatus
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    margin: float
    base_mean: float | None
    cand_mean: float | None
    regressed: bool = False
    alarm: bool = False  # the control chart alarms on this slice at the latest run


class Change(BaseModel):
    """One difference between the baseline run and the latest: `kind` is fingerprint,
    weights (quantization, dtype, the materialized copy), engine (what the server said),
    decoding, prompting, settings, model, suite, packages or tags."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    field: str
    baseline: JsonValue
    latest: JsonValue


class TrendPoint(BaseModel):
    """One slice of one recorded run against the trend's anchor run, with the chart."""

    model_config = ConfigDict(extra="forbid")

    run: int
    at: str
    slice: str
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    status: SliceStatus
    z: float
    ewma: float
    ewma_limit: float
    alarm: bool
    changed: list[str] = Field(default_factory=list)  # kinds that changed vs the run before


class Alarm(BaseModel):
    """The control chart flags a slice at the latest run."""

    model_config = ConfigDict(extra="forbid")

    slice: str
    run: int
    ewma: float
    limit: float
    first_alarm_run: int


class DriftReport(BaseModel):
    """`drift.json`. `status`: drifted when a slice fails the gate against the baseline or
    the control chart alarms at the latest run; stable when every slice passes; else
    inconclusive. `trend_anchor` is the run the trend is measured against (the baseline,
    or with `--baseline previous` the variant's pinned, else first, run)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    status: DriftStatus
    reasons: list[str] = Field(default_factory=list)
    run: RunRef
    baseline: RunRef
    baseline_ref: str
    stale: bool = False
    baseline_age_days: float
    max_baseline_age_days: float
    slices: list[DriftSlice]
    changes: list[Change]
    trend_anchor: RunRef
    trend: list[TrendPoint]
    alarms: list[Alarm]
    chart: dict[str, float]
    warnings: list[str] = Field(default_factory=list)
    summary: dict[str, JsonValue] = Field(default_factory=dict)  # the gate's Summary

    @property
    def exit_code(self) -> int:
        """0 stable, 1 drifted, 3 inconclusive."""
        return DRIFT_EXIT_CODES[self.status]
