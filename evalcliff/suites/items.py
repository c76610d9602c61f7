"""The item schema: one evaluation prompt with its gold answer.

Items are built deterministically from a suite spec and a seed, written as JSONL.
`prompt_hash` is the SHA-256 of the exact prompt text; results pair on `item_id`
and must agree on `prompt_hash`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def prompt_hash(prompt: str) -> str:
    """SHA-256 hex digest (first 16 hex chars) of the UTF-8 prompt text."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


class Item(BaseModel):
    """One evaluation item. `meta` carries what the slice's scorer needs (e.g. tests)."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    suite: str
    slice: str
    stratum: str
    cluster_id: str
    prompt: str
    target: str
    prompt_hash: str = ""
    meta: dict[str, Any] = Field(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        if not self.prompt_hash:
            self.prompt_hash = prompt_hash(self.prompt)
