"""Build a suite's items: deterministic for (spec, seed), with a content hash."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from random import Random
from typing import Any

from evalcliff.errors import EvalcliffError
from evalcliff.suites.generators import Sample, get_enumerator, get_generator
from evalcliff.suites.items import Item
from evalcliff.suites.sources import jsonl_items
from evalcliff.suites.spec import SliceSpec, SuiteSpec


def stratum_rng(seed: int | str, slice_name: str, stratum: str) -> Random:
    """The RNG for one stratum; string seeding is stable across Python runs."""
    return Random(f"{seed}|{slice_name}|{stratum}")


def _generated(
    spec: SuiteSpec, slice_name: str, sl: SliceSpec, seed: int, tokenizer: str | None
) -> list[Item]:
    assert sl.generator is not None and sl.items_per_stratum is not None
    gen = get_generator(sl.generator)
    enumerate_samples = get_enumerator(sl.generator)
    n = sl.items_per_stratum
    items: list[Item] = []
    for label, params in sl.strata_params():
        if tokenizer is not None:
            params = {**params, "tokenizer": tokenizer}
        rng = stratum_rng(seed, slice_name, label)
        fixed = enumerate_samples(params) if enumerate_samples is not None else None
        if fixed is not None:
            if n > len(fixed):
                raise EvalcliffError(
                    f"slice {slice_name!r}, stratum {label}: items_per_stratum {n} is more "
                    f"than the {len(fixed)} items there are"
                )
            picks = (
                range(len(fixed)) if n == len(fixed) else sorted(rng.sample(range(len(fixed)), n))
            )
            clusters: Iterator[list[Sample]] = iter([[fixed[i]] for i in picks])
        else:
            clusters = (gen(rng, params) for _ in itertools.count())
        made = 0
        for cluster, samples in enumerate(clusters):
            for s in samples[: n - made]:
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
            if made >= n:
                break
    return items


def build_items(
    spec: SuiteSpec, seed: int | None = None, tokenizer: str | None = None
) -> list[Item]:
    """All items of a suite, in a stable order. `item_id` = `slice/stratum/index`.

    Generated slices are deterministic for (spec, seed, tokenizer); `tokenizer` (a local HF
    tokenizer dir or cached name) is handed to every generator as `params["tokenizer"]` so
    that lengths are measured in the target model's tokens (see `evalcliff.suites.lengths`).
    Slices with a `source` read their JSONL; `lm_eval_task` slices have no items here.
    """
    seed = spec.seed if seed is None else seed
    items: list[Item] = []
    for slice_name, sl in spec.slices.items():
        if sl.kind == "generator":
            items.extend(_generated(spec, slice_name, sl, seed, tokenizer))
        elif sl.kind == "jsonl":
            items.extend(jsonl_items(spec, slice_name, sl))
    return items


def content_hash(items: list[Item]) -> str:
    """SHA-256 (16 hex) over every item's id, prompt hash and target, in order."""
    h = hashlib.sha256()
    for it in items:
        h.update(f"{it.item_id}\t{it.prompt_hash}\t{it.target}\n".encode())
    return h.hexdigest()[:16]


def manifest(spec: SuiteSpec, items: list[Item], seed: int) -> dict[str, Any]:
    """Suite identity for run headers: name, version, seed, content hash, per-slice settings.

    Slices not built by a generator also record their `source` (JSONL path) or
    `lm_eval_task`; suites whose items measure lengths record the `length_units` used.
    """
    counts: dict[str, int] = {}
    for it in items:
        counts[it.slice] = counts.get(it.slice, 0) + 1
    units = sorted({str(it.meta["length_unit"]) for it in items if "length_unit" in it.meta})
    out: dict[str, Any] = {
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
    for name, sl in spec.slices.items():
        if sl.source is not None:
            out["slices"][name]["source"] = str(spec.resolve_path(sl.source.jsonl))
        if sl.lm_eval_task is not None:
            out["slices"][name]["lm_eval_task"] = sl.lm_eval_task
    if units:
        out["length_units"] = units
    return out


def write_items(items: list[Item], path: Path) -> Path:
    """Write items as JSONL (one Item per line, UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(it.model_dump(), ensure_ascii=False) + "\n")
    return path


def read_items(path: Path) -> list[Item]:
    """Read items JSONL written by `write_items` (or by a user, per the item schema)."""
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
