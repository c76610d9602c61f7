"""Bring-your-own slices (JSONL in the item schema), lm-eval task slices, union strata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.errors import EvalcliffError
from evalcliff.suites.build import build_items, manifest
from evalcliff.suites.items import prompt_hash
from evalcliff.suites.spec import load_suite

SUITE = """\
name: byo
seed: 3
slices:
  head:
    generator: head
    scorer: exact
    weight: 0.9
    strata: {task: [succ]}
    items_per_stratum: 2
  mine:
    source: {jsonl: data/mine.jsonl}
    scorer: script
    weight: 0.1
    margin: 0.05
%s
  hellaswag:
    lm_eval_task: hellaswag
    scorer: exact
    weight: 0.0
"""


def _rows() -> list[dict[str, Any]]:
    return [
        {"item_id": "a1", "prompt": "x =", "target": "១", "stratum": "lang=km",
         "meta": {"script": "Khmer"}},
        {"item_id": "a2", "prompt": "y =", "target": "២", "stratum": "lang=km",
         "cluster_id": "shared", "meta": {"script": "Khmer"}, "prompt_hash": prompt_hash("y =")},
        {"item_id": "a3", "prompt": "z =", "target": "3", "stratum": "lang=en",
         "cluster_id": "shared", "meta": {"script": "Latin"}, "suite": "other", "slice": "s"},
    ]  # fmt: skip


def _write(tmp_path: Path, rows: list[dict[str, Any]], extra: str = "") -> Path:
    suite_dir = tmp_path / "suites"
    (suite_dir / "data").mkdir(parents=True)
    (suite_dir / "data" / "mine.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8"
    )
    path = suite_dir / "byo.yaml"
    path.write_text(SUITE % extra)
    return path


def test_jsonl_slice_resolves_against_the_suite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, _rows())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    spec = load_suite(str(path))
    items = build_items(spec)
    mine = [i for i in items if i.slice == "mine"]
    assert [i.item_id for i in mine] == ["mine/a1", "mine/a2", "mine/a3"]
    assert [i.cluster_id for i in mine] == ["mine/a1", "mine/shared", "mine/shared"]
    assert {i.suite for i in mine} == {"byo"} and mine[2].stratum == "lang=en"
    assert all(i.slice != "hellaswag" for i in items)  # the runner executes lm-eval tasks
    man = manifest(spec, items, spec.seed)
    assert man.slices["mine"].source == str(path.parent / "data" / "mine.jsonl")
    hellaswag = man.slices["hellaswag"]
    assert (hellaswag.n, hellaswag.kind, hellaswag.source) == (0, "lm_eval", "hellaswag")


def test_jsonl_cap_and_declared_strata(tmp_path: Path) -> None:
    path = _write(tmp_path, _rows(), "    strata: {lang: [km, en]}\n    items_per_stratum: 1")
    mine = [i for i in build_items(load_suite(str(path))) if i.slice == "mine"]
    assert [i.item_id for i in mine] == ["mine/a1", "mine/a3"]


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (lambda r: r.append(dict(r[0])), "", "item_id 'a1' repeats line 1"),
        (lambda r: r[1].update(prompt_hash="0" * 16), "", "prompt_hash does not match"),
        (lambda r: r[0].update(meta={}), "", r"scorer 'script' needs meta \['script'\]"),
        (lambda r: r[0].update(colour="red"), "", "mine.jsonl:1: not a valid item"),
        (lambda r: None, "    strata: {lang: [km]}", "stratum 'lang=en' is not declared"),
        (lambda r: None, "    strata: {lang: [km, en, lo]}", r"no items in strata \['lang=lo'\]"),
    ],
)
def test_jsonl_errors_name_file_and_line(
    tmp_path: Path, change: Any, extra: str, message: str
) -> None:
    rows = _rows()
    change(rows)
    path = _write(tmp_path, rows, extra)
    with pytest.raises(EvalcliffError, match=message):
        build_items(load_suite(str(path)))


def test_missing_jsonl(tmp_path: Path) -> None:
    path = _write(tmp_path, _rows())
    (path.parent / "data" / "mine.jsonl").unlink()
    with pytest.raises(EvalcliffError, match="source file .*mine.jsonl not found"):
        build_items(load_suite(str(path)))


@pytest.mark.parametrize(
    ("slice_yaml", "message"),
    [
        ("{scorer: exact, weight: 1}", "exactly one of `generator`, `source` or `lm_eval_task`"),
        (
            "{generator: head, lm_eval_task: x, scorer: exact, weight: 1}",
            r"\(got generator, lm_eval_task\)",
        ),
        ("{lm_eval_task: 'bad name!', scorer: exact, weight: 1}", "is not a task name"),
        ("{generator: head, scorer: exact, weight: 1, items_per_stratum: 1}", "needs `strata`"),
        ("{generator: head, scorer: exact, weight: 1, strata: {task: [succ]}}", "items_per_"),
        ("{source: {jsonl: x.jsonl, url: y}, scorer: exact, weight: 1}", "source.url"),
    ],
)
def test_slice_source_validation(tmp_path: Path, slice_yaml: str, message: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(f"name: x\nslices:\n  s: {slice_yaml}\n")
    with pytest.raises(EvalcliffError, match=rf"bad.yaml: slices.s.*{message}"):
        load_suite(str(p))


def test_union_strata() -> None:
    spec = load_suite("tail")
    labels = [label for label, _ in spec.slices["code"].strata_params()]
    assert labels == [
        "task=humaneval",
        "task=function,difficulty=1",
        "task=function,difficulty=2",
        "task=function,difficulty=3",
    ]


def test_cli_show_and_build(tmp_path: Path) -> None:
    path = _write(tmp_path, _rows())
    runner = CliRunner()
    shown = runner.invoke(cli, ["suites", "show", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "lang=km" in shown.output and "lm-eval task hellaswag" in shown.output
    assert "5 items" in shown.output and "catastrophic[mine]: the answer drifted" in shown.output
    out = tmp_path / "built"
    built = runner.invoke(cli, ["suites", "build", str(path), "--out", str(out)])
    assert built.exit_code == 0, built.output
    lines = (out / "items.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 and json.loads((out / "manifest.json").read_text())["n_items"] == 5


def test_cli_show_tail() -> None:
    result = CliRunner().invoke(cli, ["suites", "show", "tail"])
    assert result.exit_code == 0, result.output
    for text in ("long_context", "task=single,len=32k,depth=0.9", "2576 items", "19.4%"):
        assert text in result.output
