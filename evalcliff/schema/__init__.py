"""The contract: typed, versioned records that every stage reads and writes (no I/O here).

- `manifest`: what a suite build is (per slice: scorer, generation, margin, weight,
  catastrophic rule, a hash of prompts, targets and item meta) — `SuiteManifest`.
- `run`: one variant's run — `RunHeader` (identity, perf, model, engine, sandbox tier) and
  `ResultRow`; together the run artifact (one parquet file, header in its metadata).
- `summary`: the verdict of a comparison — `Summary` (slices, strata, headline, warnings);
  the exit code derives from the verdict.
- `variant`: variant configs, a discriminated union per backend.

Every persisted record carries `schema_version`; readers check it (see `check_version`).
"""

from evalcliff.schema.manifest import GenerationSettings, SliceManifest, SuiteManifest
from evalcliff.schema.run import (
    RESULT_COLUMNS,
    ModelIdentity,
    PerfStats,
    ResultRow,
    RunHeader,
)
from evalcliff.schema.version import SCHEMA_VERSION, check_version

__all__ = [
    "RESULT_COLUMNS",
    "SCHEMA_VERSION",
    "GenerationSettings",
    "ModelIdentity",
    "PerfStats",
    "ResultRow",
    "RunHeader",
    "SliceManifest",
    "SuiteManifest",
    "check_version",
]
