"""Bring-your-own slices: items read from a JSONL file that follows the item schema.

Each line is one JSON object with the item fields (see `evalcliff.suites.items.Item`):
`item_id`, `prompt`, `target` are required; `stratum` (default `all`), `cluster_id`
(default: the item's own id), `meta` (what the slice's scorer needs, e.g. `script` or
`tests`) and `prompt_hash` (checked against the prompt when given) are optional; `suite` and
`slice` may be present (e.g. a file written by `evalcliff suites build`) and are replaced by
the suite's and slice's names. Ids and cluster ids are prefixed with `SLICE/` unless they
already start with it, so they stay unique within the suite.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalcliff.errors import EvalcliffError
from evalcliff.suites.items import Item, prompt_hash
from evalcliff.suites.spec import SliceSpec, SuiteSpec
from evalcliff.textio import decode_line

# What each scorer reads from `meta`: checked when the file is read, not mid-run.
REQUIRED_META: dict[str, tuple[str, ...]] = {"script": ("script",), "code": ("tests",)}


class SourceRow(BaseModel):
    """One line of a bring-your-own JSONL file."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1)
    prompt: str
    target: str
    stratum: str = "all"
    cluster_id: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    prompt_hash: str | None = None
    suite: str | None = None
    slice: str | None = None


def _prefixed(slice_name: str, ident: str) -> str:
    return ident if ident.startswith(f"{slice_name}/") else f"{slice_name}/{ident}"


def _read_rows(path: Path) -> list[tuple[int, SourceRow]]:
    rows = []
    try:
        f = path.open("rb")
    except OSError as exc:
        raise EvalcliffError(f"{path}: cannot read source file: {exc.strerror or exc}") from None
    with f:
        for lineno, raw in enumerate(f, 1):
            line = decode_line(raw, path, lineno)
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise EvalcliffError(f"{path}:{lineno}: not valid JSON: {exc}") from None
            if not isinstance(data, dict):
                raise EvalcliffError(f"{path}:{lineno}: expected a JSON object, one item a line")
            try:
                rows.append((lineno, SourceRow.model_validate(data)))
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(x) for x in err["loc"]) or "item"
                msg = " ".join(str(err["msg"]).split())
                raise EvalcliffError(f"{path}:{lineno}: not a valid item: {field}: {msg}") from None
    return rows


def jsonl_items(spec: SuiteSpec, slice_name: str, sl: SliceSpec) -> list[Item]:
    """The slice's items from its `source.jsonl` file, in file order.

    With `items_per_stratum`, the first that many of each stratum are kept; with `strata`,
    every item's stratum must be a declared cell and every cell must have items. Raises
    EvalcliffError (naming the file and line) on a missing file, a malformed line, a duplicate
    id, a `prompt_hash` that does not match the prompt, or meta the scorer needs.
    """
    assert sl.source is not None
    path = spec.resolve_path(sl.source.jsonl)
    if not path.is_file():
        raise EvalcliffError(f"slice {slice_name!r}: source file {path} not found")
    needed = REQUIRED_META.get(sl.scorer, ())
    declared = {label for label, _ in sl.strata_params()}
    kept: Counter[str] = Counter()
    seen: dict[str, int] = {}
    items = []
    for lineno, row in _read_rows(path):
        where = f"{path}:{lineno}"
        item_id = _prefixed(slice_name, row.item_id)
        if item_id in seen:
            raise EvalcliffError(f"{where}: item_id {row.item_id!r} repeats line {seen[item_id]}")
        seen[item_id] = lineno
        if row.prompt_hash and row.prompt_hash != prompt_hash(row.prompt):
            raise EvalcliffError(f"{where}: prompt_hash does not match the prompt")
        missing = [k for k in needed if k not in row.meta]
        if missing:
            raise EvalcliffError(f"{where}: scorer {sl.scorer!r} needs meta {missing}")
        if declared and row.stratum not in declared:
            raise EvalcliffError(
                f"{where}: stratum {row.stratum!r} is not declared in the slice's strata"
            )
        if sl.items_per_stratum is not None and kept[row.stratum] >= sl.items_per_stratum:
            continue
        kept[row.stratum] += 1
        items.append(
            Item(
                item_id=item_id,
                suite=spec.name,
                slice=slice_name,
                stratum=row.stratum,
                cluster_id=_prefixed(slice_name, row.cluster_id or row.item_id),
                prompt=row.prompt,
                target=row.target,
                meta=row.meta,
            )
        )
    if not items:
        raise EvalcliffError(f"slice {slice_name!r}: {path} holds no items")
    empty = sorted(declared - set(kept))
    if empty:
        raise EvalcliffError(f"slice {slice_name!r}: {path} has no items in strata {empty}")
    return items
