"""The run artifact: one variant's run over one suite build — a header and one row per item.

On disk it is one parquet file with the header inside (key-value metadata `evalcliff.header`,
JSON); see `evalcliff.results.io`. JSONL results (rows only) stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from evalcliff.schema.manifest import SuiteManifest
from evalcliff.schema.version import SCHEMA_VERSION

if TYPE_CHECKING:
    import pandas as pd

JsonScalar = str | int | float | bool | None

# Column -> pandas dtype, in on-disk order. `target`, `ttft_s` and `output_tokens` are
# additions to the DESIGN.md contract.
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
    "ttft_s": "float64",
    "output_tokens": "float64",
}
OPTIONAL_COLUMNS = ("target", "error", "latency_s", "ttft_s", "output_tokens")
REQUIRED_COLUMNS = [c for c in RESULT_COLUMNS if c not in OPTIONAL_COLUMNS]


class ResultRow(BaseModel):
    """One item's outcome for one variant. `score` is a fraction in [0, 1]; a row with
    `error` set is a failed request: it never feeds the statistics."""

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
    ttft_s: float | None = None
    output_tokens: float | None = None


class Percentiles(BaseModel):
    """p50/p95/p99 in seconds (None: nothing measured)."""

    model_config = ConfigDict(extra="forbid")

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


class PerfStats(BaseModel):
    """Throughput and latency over the requests computed in the process that finished the run."""

    model_config = ConfigDict(extra="forbid")

    requests_computed: int = 0
    requests_resumed: int = 0  # answers taken from an interrupted earlier process's cache
    wall_s: float = 0.0
    requests_per_s: float | None = None
    output_tokens_per_s: float | None = None
    latency_s: Percentiles = Field(default_factory=Percentiles)
    ttft_s: Percentiles = Field(default_factory=Percentiles)
    itl_s: Percentiles = Field(default_factory=Percentiles)


class MemoryEstimate(BaseModel):
    """Deployed memory: weights + KV cache (bytes) at `context` tokens x `concurrency`."""

    model_config = ConfigDict(extra="forbid")

    weights_bytes: int
    kv_bytes_per_token: int
    context: int
    concurrency: int
    kv_cache_bytes: int
    total_bytes: int


class ServerInfo(BaseModel):
    """What a served model's server said about itself during the run."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list)  # GET /models ids
    # the `model` field of the answers the run holds (resumed ones included)
    answered_by: list[str] = Field(default_factory=list)
    system_fingerprints: list[str] = Field(default_factory=list)  # seen in responses
    # set when a resumed run's earlier answers and this process's share no fingerprint or
    # no served model name: what each said (the server changed between the two processes)
    changed_on_resume: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)  # server/version response headers


class ModelIdentity(BaseModel):
    """What produced the outputs.

    `weights_fingerprint` identifies the weights when evalcliff can read them (SHA-256 of the
    embedded model, size+mtime of a local checkpoint, hash of a GGUF); None for a served model
    whose weights it cannot see: such a run is never reused, the server is asked again.
    """

    model_config = ConfigDict(extra="forbid")

    weights_fingerprint: str | None = None
    path: str | None = None
    materialized: str | None = None  # the quantized copy actually loaded
    compute_dtype: str | None = None
    threads: int | None = None
    endpoints: list[str] = Field(default_factory=list)
    model_name: str | None = None
    server_command: str | None = None
    context_length: int | None = None  # tokens the model accepts (prompt + output)
    memory_estimate: MemoryEstimate | None = None
    server: ServerInfo | None = None
    details: dict[str, JsonScalar] = Field(default_factory=dict)  # backend-specific facts


class SequentialSlice(BaseModel):
    """One slice of a sequential run: its items per look and where sampling stopped.

    `planned[k - 1]` is how many of the slice's items the looks 1..k hold (cumulative; the
    last entry is every item of the slice, what a fixed-n run would use). `stopped_at` is
    the last look whose items were run; `decision`, `boundary` (the z bound of its repeated
    CI there, at the design's confidence) and `margin` are what the run decided with.
    """

    model_config = ConfigDict(extra="forbid")

    planned: list[int]
    stopped_at: int = Field(ge=1)
    decision: Literal["pass", "fail", "inconclusive"]
    boundary: float
    margin: float


class SequentialDesign(BaseModel):
    """How a sequential run (`report --sequential K`) was sampled: K looks with
    O'Brien-Fleming bounds (`boundary_constant` = C, the bound at the last look, at two-sided
    level `confidence`), items assigned to looks by a seeded stratified draw (`seed`), the
    run keys of the looks' own runs, the wall seconds each look took in the run that wrote
    the file (both variants side by side, worker start-up included), and per slice the
    record above. A run carrying one must be judged by the sequential rule (repeated CIs),
    never by fixed-n CIs."""

    model_config = ConfigDict(extra="forbid")

    looks: int = Field(ge=2)
    confidence: float
    boundary_constant: float
    seed: int
    look_run_keys: list[str] = Field(default_factory=list)
    look_wall_s: list[float] = Field(default_factory=list)
    slices: dict[str, SequentialSlice] = Field(default_factory=dict)


class RunHeader(BaseModel):
    """Who produced a run and from what: stored inside the results parquet.

    `run_key` hashes everything that decides the outputs (settings, weights fingerprint,
    suite manifest, seed, limit). `settings` are the variant's backend settings as resolved
    (JSON). `defaults_used` names settings that were not given and took a default.
    `sandbox_tier` is the isolation generated code ran under (None: no code was run).
    `sequential` records the design of a sequential run (None for a fixed-n run).
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    run_key: str
    variant: str
    backend: str
    settings: dict[str, JsonValue] = Field(default_factory=dict)
    defaults_used: list[str] = Field(default_factory=list)
    model: ModelIdentity = Field(default_factory=ModelIdentity)
    suite: SuiteManifest
    packages: dict[str, str] = Field(default_factory=dict)
    seed: int = 0
    limit: int | None = None
    sandbox_tier: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    n_items: int = 0
    n_errors: int = 0
    perf: PerfStats = Field(default_factory=PerfStats)
    # Set on the merged artifact of a sequential run (None: a fixed-n run; older files).
    sequential: SequentialDesign | None = None


@dataclass(frozen=True)
class RunArtifact:
    """A run as read back: its header (None for a headerless JSONL file) and its rows
    (columns per RESULT_COLUMNS, validated)."""

    path: Path
    header: RunHeader | None
    results: pd.DataFrame

    @property
    def label(self) -> str:
        """The variant name, or the file name when there is no header."""
        return self.header.variant if self.header is not None else self.path.name
