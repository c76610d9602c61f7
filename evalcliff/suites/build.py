"""Build a suite's items: deterministic for (spec, seed), with a content hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from random import Random
from typing import Any

from evalcliff.suites.generators import get_generator
from evalcliff.suites.items import Item
from evalcliff.suites.spec import SuiteSpec


def stratum_rng(seed: int | str, slice_name: str, stratum: str) -> Random:
    """The RNG for one stratum; string seeding is stable across Python runs."""
    return Random(f"{seed}|{slice_name}|{stratum}")


def build_items(spec: SuiteSpec, seed: int | None = None) -> list[Item]:
    """All items of a suite, in a stable order. `item_id` = `slice/stratum/index`."""
    seed = spec.seed if seed is None else seed
    items: list[Item] = []
    for slice_name, sl in spec.slices.items():
        gen = get_generator(sl.generator)
        for label, params in sl.strata_params():
            rng = stratum_rng(seed, slice_name, label)
            made, cluster = 0, 0
            while made < sl.items_per_stratum:
                for s in gen(rng, params)[: sl.items_per_stratum - made]:
                    items.append(
                        Item(
                            item_id=f"{slice_name}/{label}/{made:04d}",
                            suite=spec.name,
                            slice=slice_name,
                            stratum=label,
                            cluster_id=f"{slice_name}/{label}/c{cluster:04d}",
                            prompt=s.prompt,
                            target=s.target,
                            meta={**s.meta, "completion": s.completion},
                        )
                    )
                    made += 1
                cluster += 1
    return items


def limit_items(items: list[Item], limit: int | None) -> list[Item]:
    """The first `limit` items of each slice (all items when `limit` is None)."""
    if limit is None:
        return items
    seen: dict[str, int] = {}
    kept = []
    for it in items:
        seen[it.slice] = seen.get(it.slice, 0) + 1
        if seen[it.slice] <= limit:
            kept.append(it)
    return kept


def content_hash(items: list[Item]) -> str:
    """SHA-256 (16 hex) over every item's id, prompt hash and target, in order."""
    h = hashlib.sha256()
    for it in items:
        h.update(f"{it.item_id}\t{it.prompt_hash}\t{it.target}\n".encode())
    return h.hexdigest()[:16]


def manifest(spec: SuiteSpec, items: list[Item], seed: int) -> dict[str, Any]:
    """Suite identity for run headers: name, version, seed, content hash, per-slice settings."""
    counts: dict[str, int] = {}
    for it in items:
        counts[it.slice] = counts.get(it.slice, 0) + 1
    return {
        "name": spec.name,
        "version": spec.version,
        "seed": seed,
        "content_hash": content_hash(items),
        "n_items": len(items),
        "slices": {
            name: {
                "n": counts.get(name, 0),
                "weight": sl.weight,
                "margin": sl.margin,
                "max_catastrophic_increase": sl.max_catastrophic_increase,
                "scorer": sl.scorer,
            }
            for name, sl in spec.slices.items()
        },
    }


def write_items(items: list[Item], path: Path) -> Path:
    """Write items as JSONL (one Item per line, UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(it.model_dump(), ensure_ascii=False) + "\n")
    return path


def read_items(path: Path) -> list[Item]:
    """Read items JSONL written by `write_items` (or by a user, per the item schema)."""
    from evalcliff.errors import EvalcliffError

    items = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                items.append(Item.model_validate_json(line))
            except ValueError as exc:
                raise EvalcliffError(f"{path}:{lineno}: not a valid item: {exc}") from None
    return items
