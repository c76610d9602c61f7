"""Read the per-run JSONL journals (torn last lines after kill -9 are skipped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_records(path: Path) -> dict[str, dict[str, Any]]:
    """request hash -> its last JSON record."""
    out: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("hash"), str):
                out[rec["hash"]] = rec
    return out


def read_latencies(journal: Path) -> dict[str, float]:
    """request hash -> latency in seconds (the last record wins)."""
    return {h: float(r["latency_s"]) for h, r in read_records(journal).items()}
