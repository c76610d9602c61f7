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
from evalcliff.schema.summary import (
    EffectivePolicy,
    EffectiveSlicePolicy,
    Headline,
    SliceSummary,
    StratumSummary,
    Summary,
)
from evalcliff.schema.variant import (
    HFVariant,
    LlamaCppVariant,
    MockVariant,
    OpenAIVariant,
    Quantization,
    ServeConfig,
    VariantConfig,
    VLLMVariant,
    parse_variant,
    settings_from_defaults,
)
from evalcliff.schema.version import SCHEMA_VERSION, check_version

__all__ = [
    "RESULT_COLUMNS",
    "SCHEMA_VERSION",
    "EffectivePolicy",
    "EffectiveSlicePolicy",
    "GenerationSettings",
    "HFVariant",
    "Headline",
    "LlamaCppVariant",
    "MockVariant",
    "ModelIdentity",
    "OpenAIVariant",
    "PerfStats",
    "Quantization",
    "ResultRow",
    "RunHeader",
    "ServeConfig",
    "SliceManifest",
    "SliceSummary",
    "StratumSummary",
    "Summary",
    "SuiteManifest",
    "VLLMVariant",
    "VariantConfig",
    "check_version",
    "parse_variant",
    "settings_from_defaults",
]
