"""The suite manifest: what a suite build is, per slice — everything that decides scores.

Two runs are comparable on a slice only when their slice manifests agree on `scoring_key()`
(scorer, generation settings, and the hash of item ids, prompts, targets and meta).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evalcliff.schema.version import SCHEMA_VERSION


class GenerationSettings(BaseModel):
    """Greedy generation settings of a slice: at most `max_gen_toks` tokens, stop at `until`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_gen_toks: int = Field(32, ge=1)
    until: list[str] = Field(default_factory=lambda: ["\n"])


class SliceManifest(BaseModel):
    """One slice of a build. `items_hash` covers id, prompt hash, target and meta of each item
    in order (16 hex of SHA-256); margin/limit are the suite's (None: the policy default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["generator", "jsonl", "lm_eval"]
    source: str  # generator name, JSONL path, or lm-eval task name
    scorer: str
    generation: GenerationSettings
    weight: float = Field(ge=0.0)
    margin: float | None = None
    max_catastrophic_increase: float | None = None
    n: int = Field(ge=0)
    strata: list[str] = Field(default_factory=list)
    items_hash: str

    def scoring_key(self) -> tuple[str, GenerationSettings, str]:
        """What must be equal for two runs' scores on this slice to be paired."""
        return (self.scorer, self.generation, self.items_hash)


class SuiteManifest(BaseModel):
    """A suite build: name, version, seed, limit, per-slice manifests and a content hash.

    `limit` is the items per stratum a limited run kept (None: the full suite).
    `length_unit` says how long-context lengths were measured (`chars/4` or `tokens:DIR`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    name: str
    version: int
    seed: int
    limit: int | None = None
    content_hash: str
    n_items: int = Field(ge=0)
    length_units: list[str] = Field(default_factory=list)
    slices: dict[str, SliceManifest]

    def differences(self, other: SuiteManifest, slices: list[str] | None = None) -> list[str]:
        """Human lines naming what differs between two builds on `slices` (default: all
        slices present in both) in scorer, generation settings or items."""
        names = slices if slices is not None else [s for s in self.slices if s in other.slices]
        out: list[str] = []
        for name in names:
            a, b = self.slices.get(name), other.slices.get(name)
            if a is None or b is None:
                out.append(f"slice {name!r} is in only one of the runs")
                continue
            if a.scorer != b.scorer:
                out.append(f"slice {name!r}: scorer {a.scorer!r} vs {b.scorer!r}")
            if a.generation != b.generation:
                out.append(
                    f"slice {name!r}: generation {a.generation.model_dump()} vs "
                    f"{b.generation.model_dump()}"
                )
            if a.items_hash != b.items_hash:
                out.append(
                    f"slice {name!r}: items differ (prompts, targets or item meta; hash "
                    f"{a.items_hash} vs {b.items_hash})"
                )
        return out
