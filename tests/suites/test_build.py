from collections import Counter
from pathlib import Path

import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.suites.build import build_items, content_hash, read_items, write_items
from evalcliff.suites.spec import load_suite


def test_smoke_is_deterministic_and_stratified() -> None:
    spec = load_suite("smoke")
    a, b = build_items(spec), build_items(spec)
    assert content_hash(a) == content_hash(b)
    assert [i.model_dump() for i in a] == [i.model_dump() for i in b]
    per_slice = Counter(i.slice for i in a)
    assert set(per_slice) == {"head", "long_context", "low_resource", "multihop_arith", "code"}
    assert all(n >= 100 for n in per_slice.values())
    for name, sl in spec.slices.items():
        strata = Counter(i.stratum for i in a if i.slice == name)
        assert len(strata) == len(sl.strata_params())
        assert set(strata.values()) == {sl.items_per_stratum}
    assert len({i.item_id for i in a}) == len(a)


def test_other_seed_changes_items_but_not_ids() -> None:
    spec = load_suite("smoke")
    a, b = build_items(spec, 1), build_items(spec, 2)
    assert [i.item_id for i in a] == [i.item_id for i in b]
    assert content_hash(a) != content_hash(b)


def test_long_context_items_share_haystack_clusters() -> None:
    items = [i for i in build_items(load_suite("smoke")) if i.slice == "long_context"]
    clusters = Counter(i.cluster_id for i in items)
    assert max(clusters.values()) == 2
    for i in items:
        key = i.prompt.rsplit("find ", 1)[1].rstrip(" =")
        assert f"{key}:{i.target}\n" in i.prompt


def test_low_resource_targets_are_in_native_script() -> None:
    items = [i for i in build_items(load_suite("smoke")) if i.slice == "low_resource"]
    km = next(i for i in items if i.stratum == "lang=km")
    assert all("\u17e0" <= ch <= "\u17e9" for ch in km.target)
    en = next(i for i in items if i.stratum == "lang=en")
    assert en.target.isascii() and en.target.isdigit()


def test_items_roundtrip(tmp_path: Path) -> None:
    items = build_items(load_suite("smoke"))[:20]
    assert read_items(write_items(items, tmp_path / "i.jsonl")) == items


def test_bad_suite_names_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(
        "name: x\nslices:\n  head: {generator: head, scorer: exact, weight: 1,"
        " strata: {task: [succ]}, items_per_stratum: 2, colour: red}\n"
    )
    with pytest.raises(EvalcliffError, match=r"bad.yaml: slices.head.colour"):
        load_suite(str(p))
    with pytest.raises(EvalcliffError, match="unknown suite"):
        load_suite("nope")


def test_an_item_whose_prompt_changed_after_the_build_is_refused(tmp_path: Path) -> None:
    """An edited prompt left with its old prompt_hash would run the new text under the old
    identity (same content hash, same run key): a stale cache reused for other prompts."""
    import json

    path = write_items(build_items(load_suite("smoke"))[:5], tmp_path / "i.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[3])
    row["prompt"] += " 1"
    lines[3] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EvalcliffError, match=r"i\.jsonl:4: item .*prompt_hash does not match"):
        read_items(path)
