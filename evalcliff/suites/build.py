"""Build a suite's items: deterministic for (spec, seed), with a content hash."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from random import Random

from evalcliff.errors import EvalcliffError
from evalcliff.schema.manifest import GenerationSettings, SliceManifest, SuiteManifest
from evalcliff.suites.generators import Sample, get_enumerator, get_generator
from evalcliff.suites.items import Item, prompt_hash
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
    return share_clusters_of_repeated_prompts(items)


def share_clusters_of_repeated_prompts(items: list[Item]) -> list[Item]:
    """`items` with one cluster for every group of items that share a prompt within a slice
    (merged with whatever clusters those items were already in).

    Under greedy decoding a repeated prompt gets the same answer every time: its copies are
    one observation, not several. Counting them as independent units would make the paired
    bootstrap CI too narrow (tail's head slice drew 300 items from 171 distinct prompts).
    Clusters keep the first member's id; items are otherwise unchanged.
    """
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_with_prompt: dict[tuple[str, str], tuple[str, str]] = {}
    for it in items:
        unit = (it.slice, it.cluster_id)
        seen = first_with_prompt.setdefault((it.slice, it.prompt_hash), unit)
        a, b = find(seen), find(unit)
        if a != b:
            # the earlier cluster stays the root, so ids are stable and in build order
            parent[b] = a
    out = []
    for it in items:
        root = find((it.slice, it.cluster_id))[1]
        out.append(it if root == it.cluster_id else it.model_copy(update={"cluster_id": root}))
    return out


def content_hash(items: list[Item]) -> str:
    """SHA-256 (16 hex) over every item's id, prompt hash and target, in order."""
    h = hashlib.sha256()
    for it in items:
        h.update(f"{it.item_id}\t{it.prompt_hash}\t{it.target}\n".encode())
    return h.hexdigest()[:16]


def items_hash(items: list[Item]) -> str:
    """SHA-256 (16 hex) over id, prompt hash, target and meta (canonical JSON) of each item."""
    h = hashlib.sha256()
    for it in items:
        meta = json.dumps(it.meta, sort_keys=True, ensure_ascii=False, default=str)
        h.update(f"{it.item_id}\t{it.prompt_hash}\t{it.target}\t{meta}\n".encode())
    return h.hexdigest()[:16]


def manifest(
    spec: SuiteSpec, items: list[Item], seed: int, limit: int | None = None
) -> SuiteManifest:
    """The build's identity: per slice its scorer, generation settings, suite margin, weight
    and catastrophic limit (None = not set by the suite), strata, and a hash of its items;
    the whole build's content hash; the seed and the per-stratum `limit` it was cut to."""
    by_slice: dict[str, list[Item]] = {name: [] for name in spec.slices}
    for it in items:
        by_slice.setdefault(it.slice, []).append(it)
    slices: dict[str, SliceManifest] = {}
    for name, sl in spec.slices.items():
        own = by_slice[name]
        if sl.generator is not None:
            source = sl.generator
        elif sl.source is not None:
            source = str(spec.resolve_path(sl.source.jsonl))
        else:
            source = str(sl.lm_eval_task)
        slices[name] = SliceManifest(
            kind=sl.kind,
            source=source,
            scorer=sl.scorer,
            generation=GenerationSettings.model_validate(sl.generation.model_dump()),
            weight=sl.weight,
            margin=sl.margin,
            max_catastrophic_increase=sl.max_catastrophic_increase,
            n=len(own),
            strata=sorted({it.stratum for it in own}),
            items_hash=items_hash(own),
        )
    units = sorted({str(it.meta["length_unit"]) for it in items if "length_unit" in it.meta})
    return SuiteManifest(
        name=spec.name,
        version=spec.version,
        seed=seed,
        limit=limit,
        content_hash=content_hash(items),
        n_items=len(items),
        length_units=units,
        slices=slices,
    )


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
                item = Item.model_validate_json(line)
            except ValueError as exc:
                raise EvalcliffError(f"{path}:{lineno}: not a valid item: {exc}") from None
            if item.prompt_hash != prompt_hash(item.prompt):  # an edited prompt, stale hash
                raise EvalcliffError(
                    f"{path}:{lineno}: item {item.item_id!r}: prompt_hash does not match its "
                    "prompt (the prompt changed after the build); build the items again"
                )
            items.append(item)
    return items


def limit_items(items: list[Item], limit: int | None, seed: int | str = 0) -> list[Item]:
    """`limit` items of every stratum of every slice, chosen by a seeded draw (all items of a
    stratum that has fewer), in the original order; all items when `limit` is None.

    Per stratum, not per slice: the first N items of a slice would all come from its first
    stratum and miss the tail the suite exists to measure.
    """
    if limit is None:
        return items
    if limit < 1:
        raise EvalcliffError(f"--limit must be at least 1 item per stratum, got {limit}")
    groups: dict[tuple[str, str], list[int]] = {}
    for k, it in enumerate(items):
        groups.setdefault((it.slice, it.stratum), []).append(k)
    keep: set[int] = set()
    for (slice_name, stratum), idx in groups.items():
        if len(idx) <= limit:
            keep.update(idx)
        else:
            keep.update(Random(f"{seed}|limit|{slice_name}|{stratum}").sample(idx, limit))
    return [it for k, it in enumerate(items) if k in keep]


def read_build(spec: SuiteSpec, directory: Path, seed: int | None = None) -> list[Item]:
    """Items written by `evalcliff suites build` in `directory`, checked against `spec`:
    same suite, same seed, every slice present, and the items unchanged since the build."""
    return read_build_seeded(spec, directory, seed)[0]


def read_build_seeded(
    spec: SuiteSpec, directory: Path, seed: int | None = None
) -> tuple[list[Item], int]:
    """`read_build`'s items and the seed they were built with (the manifest's): the seed a
    run over them has, so that it pairs with a run built here with `--seed` of that value.
    A `seed` other than the build's is refused."""
    items_path, man_path = directory / "items.jsonl", directory / "manifest.json"
    for p in (items_path, man_path):
        if not p.is_file():
            raise EvalcliffError(f"{p}: not found; `evalcliff suites build` writes it")
    try:
        built = SuiteManifest.model_validate_json(man_path.read_bytes())
    except ValueError as exc:
        first = str(exc).splitlines()
        raise EvalcliffError(f"{man_path}: not a suite manifest ({first[-1].strip()})") from None
    if built.name != spec.name:
        raise EvalcliffError(f"{man_path}: items of suite {built.name!r}, not {spec.name!r}")
    if seed is not None and built.seed != seed:
        raise EvalcliffError(f"{man_path}: built with seed {built.seed}, not --seed {seed}")
    items = share_clusters_of_repeated_prompts(read_items(items_path))
    if content_hash(items) != built.content_hash:
        raise EvalcliffError(
            f"{items_path}: content hash {content_hash(items)} differs from the manifest's "
            f"{built.content_hash}: the file changed after the build; build it again"
        )
    present = {it.slice for it in items}
    wanted = {n for n, sl in spec.slices.items() if sl.kind != "lm_eval"}
    if wanted - present or present - set(spec.slices):
        raise EvalcliffError(
            f"{items_path}: slices {sorted(present)} do not match suite {spec.name!r} "
            f"({sorted(wanted)}); build it again from this suite"
        )
    fresh = manifest(spec, items, built.seed)
    diffs = fresh.differences(built)
    if diffs:
        raise EvalcliffError(f"{man_path}: the suite changed since the build: {diffs[0]}")
    return items, built.seed
