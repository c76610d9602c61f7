"""Typed records of a run: one row per item, plus a small JSON header."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evalcliff import SCHEMA_VERSION

# Column -> pandas dtype. Order is the on-disk order. `target` is an addition to the
# DESIGN.md contract (the gold answer, shown escaped in the report).
RESULT_COLUMNS: dict[str, str] = {
    "item_id": "string",
    "suite": "string",
    "slice": "string",
    "stratum": "string",
    "cluster_id": "string",
    "prompt_hash": "string",
    "output": "string",
    "target": "string",
    "score": "float64",
    "correct": "bool",
    "catastrophic": "bool",
    "error": "string",
    "latency_s": "float64",
}
REQUIRED_COLUMNS = [c for c in RESULT_COLUMNS if c not in ("target", "latency_s", "error")]


class ResultRow(BaseModel):
    """One item's outcome for one variant. `score` is a fraction in [0, 1]."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    suite: str
    slice: str
    stratum: str
    cluster_id: str
    prompt_hash: str
    output: str
    target: str = ""
    score: float = Field(ge=0.0, le=1.0)
    correct: bool
    catastrophic: bool
    error: str | None = None
    latency_s: float | None = None


class RunHeader(BaseModel):
    """What a results file was produced by; written next to it as `<stem>.header.json`."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    variant: str
    backend: str
    backend_settings: dict[str, Any] = Field(default_factory=dict)
    model: dict[str, Any] = Field(default_factory=dict)  # path + hash, or endpoint + model name
    suite: dict[str, Any] = Field(default_factory=dict)  # name, version, content_hash
    packages: dict[str, str] = Field(default_factory=dict)
    seed: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    n_items: int = 0
    n_errors: int = 0
