"""Malformed suites: each stops at load with one line naming the file and the field or line."""
# ruff: noqa: E501 - one malformed input per table row reads best unwrapped

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.errors import EvalcliffError
from evalcliff.suites.build import build_items
from evalcliff.suites.spec import load_suite

HEAD = "name: s\nslices:\n  head:\n"
OK = "    generator: head\n    scorer: exact\n    weight: 0.8\n"
GRID = "    strata: {task: [succ, add]}\n    items_per_stratum: 2\n"


def _slice(**fields: str) -> str:
    """A one-slice suite: the valid head slice with `fields` (YAML flow values) replaced."""
    base = {
        "generator": "head",
        "scorer": "exact",
        "weight": "0.8",
        "strata": "{task: [succ, add]}",
        "items_per_stratum": "2",
    }
    base.update(fields)
    body = "".join(f"    {k}: {v}\n" for k, v in base.items() if v != "DROP")
    return HEAD + body


# (id, content, text the one-line message must contain)
CASES: list[tuple[str, str | bytes, str]] = [
    # file level
    ("not-utf8", b"name: caf\xe9\nslices: {}\n", "not UTF-8 (byte 0xe9 at offset 9, line 1)"),
    ("yaml-syntax", HEAD + "    generator: [head\n", "line 5"),
    ("dup-margin", _slice(margin="0.02") + "    margin: 0.5\n", "line 10: duplicate key 'margin'"),
    ("dup-slice", _slice() + "  head:\n" + OK + GRID, "duplicate key 'head'"),
    ("dup-top", "name: a\nname: b\nslices: {}\n", "line 2: duplicate key 'name'"),
    ("dup-strata-key", _slice(strata="{task: [succ], task: [add]}"), "duplicate key 'task'"),
    ("top-list", "- a\n", "expected a mapping"),
    ("empty-file", "", "expected a mapping"),
    # suite fields
    ("zero-slices", "name: s\nslices: {}\n", "slices: a suite needs at least one slice"),
    ("no-slices", "name: s\n", "slices: Field required"),
    ("empty-name", "name: ''\nslices:\n  head:\n" + OK + GRID, "name:"),
    ("unknown-suite-key", "name: s\nsed: 1\nslices:\n  head:\n" + OK + GRID, "sed: Extra inputs"),
    ("version-text", "name: s\nversion: one\nslices:\n  head:\n" + OK + GRID, "version:"),
    # margins, weights, catastrophic limits
    ("margin-5", _slice(margin="5"), "slices.head.margin: Input should be less than 1"),
    ("margin-1", _slice(margin="1"), "slices.head.margin"),
    ("margin-0", _slice(margin="0"), "slices.head.margin: Input should be greater than 0"),
    ("margin-negative", _slice(margin="-0.02"), "slices.head.margin"),
    ("margin-nan", _slice(margin=".nan"), "slices.head.margin"),
    ("margin-text", _slice(margin="two"), "slices.head.margin"),
    ("weight-negative", _slice(weight="-0.1"), "slices.head.weight"),
    ("weight-nan", _slice(weight=".nan"), "slices.head.weight"),
    ("weight-inf", _slice(weight=".inf"), "slices.head.weight"),
    ("weight-over-1", _slice(weight="80"), "slices.head.weight"),
    ("weight-missing", _slice(weight="DROP"), "slices.head.weight: Field required"),
    ("cat-over-1", _slice(max_catastrophic_increase="2"), "slices.head.max_catastrophic_increase"),
    ("cat-negative", _slice(max_catastrophic_increase="-0.1"), "max_catastrophic_increase"),
    # generators: names, params, strata values, scorers
    ("unknown-generator", _slice(generator="heads"), "generator: unknown generator 'heads'"),
    ("unknown-param", _slice(params="{questions: 2}"), "params.questions: generator 'head' takes no param"),
    ("param-typo", _slice(generator="kv_retrieval", strata="{len: [128], depth: [0.5]}", params="{questons: 2}"), "params.questons"),
    ("param-range", _slice(generator="kv_retrieval", strata="{len: [128], depth: [0.5]}", params="{key_len: 12}"), "params.key_len: 12 is above 8"),
    ("param-type", _slice(generator="kv_retrieval", strata="{len: [128], depth: [0.5]}", params="{questions: two}"), "params.questions: 'two' is not an integer"),
    ("unknown-stratum-key", _slice(strata="{tsk: [succ]}"), "strata.tsk: generator 'head' has no param 'tsk'"),
    ("unknown-stratum-value", _slice(strata="{task: [succ, mul]}"), "strata.task: 'mul' is not one of succ, copy, rev, add"),
    ("stratum-value-type", _slice(strata="{task: [1]}"), "strata.task: 1 is not a string"),
    ("depth-over-1", _slice(generator="kv_retrieval", strata="{len: [128], depth: [1.5]}"), "strata.depth: 1.5 is above 1"),
    ("len-text", _slice(generator="kv_retrieval", strata="{len: [long], depth: [0.5]}"), "strata.len: 'long' is not an integer"),
    ("missing-required", _slice(generator="kv_retrieval", strata="{len: [128]}"), "needs depth"),
    ("ruler-len", _slice(generator="ruler", scorer="contains", strata="{task: [single], len: [1m], depth: [0.5]}"), "strata.len: not a length"),
    ("ruler-too-long", _slice(generator="ruler", scorer="contains", strata="{task: [single], len: [256k], depth: [0.5]}"), "strata.len: '256k' is above 131072"),
    ("ruler-task", _slice(generator="ruler", scorer="contains", strata="{task: [qa], len: [1k], depth: [0.5]}"), "strata.task: 'qa' is not one of"),
    ("union-grid-value", _slice(generator="code_tasks", scorer="code", strata="[{task: [humaneval]}, {task: [function], difficulty: [9]}]"), "strata[1].difficulty: 9 is above 6"),
    ("unknown-locale", _slice(generator="native_digits", scorer="script", strata="{lang: [xx_YY]}"), "strata.lang: 'xx_YY'"),
    ("yaml-no-locale", _slice(generator="cldr_language", scorer="script", strata="{lang: [no], task: [month_add]}"), "strata.lang: False is not a str"),
    ("hops-zero", _slice(generator="arith_chain", scorer="numeric", strata="{hops: [0], digits: [2]}"), "strata.hops: 0 is below 1"),
    ("code-scorer-on-head", _slice(scorer="code"), "scorer: generator 'head' makes items for scorer exact/contains, not 'code'"),
    ("script-scorer-on-arith", _slice(generator="chained_arith", scorer="script", strata="{hops: [1]}"), "not 'script'"),
    ("exact-on-code", _slice(generator="arith_function", strata="{ops: [1]}", scorer="numeric"), "not 'numeric'"),
    ("unknown-scorer", HEAD + "    source: {jsonl: x.jsonl}\n    scorer: exakt\n    weight: 0.1\n", "scorer: unknown scorer 'exakt'"),
    ("items-zero", _slice(items_per_stratum="0"), "slices.head.items_per_stratum"),
    ("empty-stratum-values", _slice(strata="{task: []}"), "stratum key 'task' has no values"),
    ("max-gen-toks-zero", _slice(generation="{max_gen_toks: 0}"), "slices.head.generation.max_gen_toks"),
    ("generation-typo", _slice(generation="{max_tokens: 8}"), "slices.head.generation.max_tokens"),
    ("slice-typo", _slice(wieght="0.1"), "slices.head.wieght: Extra inputs"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_suite_is_one_line_naming_file_and_field(
    tmp_path: Path, content: str | bytes, expect: str
) -> None:
    p = tmp_path / "bad.yaml"
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    with pytest.raises(EvalcliffError) as info:
        load_suite(str(p))
    msg = str(info.value)
    assert msg.startswith(f"{p}:"), msg
    assert expect in msg, msg
    assert "\n" not in msg and "Traceback" not in msg, msg


def test_valid_one_slice_suite_loads(tmp_path: Path) -> None:
    p = tmp_path / "ok.yaml"
    p.write_text("\ufeff" + _slice(margin="0.02"), encoding="utf-8")
    spec = load_suite(str(p))
    assert spec.slices["head"].margin == 0.02 and len(build_items(spec)) == 4


def test_shipped_suites_pass_the_checks() -> None:
    for name in ("smoke", "tail"):
        assert load_suite(name).slices


JSONL_SUITE = HEAD + "    source: {jsonl: items.jsonl}\n    scorer: exact\n    weight: 0.5\n"
ROW = json.dumps({"item_id": "a", "prompt": "p", "target": "t"})

# (id, JSONL bytes, text the message must contain after "PATH:")
JSONL_CASES: list[tuple[str, bytes, str]] = [
    ("not-utf8", (ROW + "\n").encode() + b'{"item_id": "b", "prompt": "\xff", "target": "t"}\n',
     ":2: not UTF-8 (byte 0xff"),
    ("malformed-json", (ROW + "\n{not json\n").encode(), ":2: not valid JSON"),
    ("not-an-object", (ROW + "\n[1, 2]\n").encode(), ":2: expected a JSON object"),
    ("missing-target", b'{"item_id": "a", "prompt": "p"}\n', ":1: not a valid item: target"),
    ("unknown-field", b'{"item_id": "a", "prompt": "p", "target": "t", "x": 1}\n', ":1: not a valid item: x"),
    ("empty-id", b'{"item_id": "", "prompt": "p", "target": "t"}\n', ":1: not a valid item: item_id"),
    ("duplicate-id", (ROW + "\n" + ROW + "\n").encode(), ":2: item_id 'a' repeats line 1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "expect"), [c[1:] for c in JSONL_CASES], ids=[c[0] for c in JSONL_CASES]
)
def test_bad_jsonl_source_names_file_and_line(tmp_path: Path, data: bytes, expect: str) -> None:
    (tmp_path / "items.jsonl").write_bytes(data)
    p = tmp_path / "s.yaml"
    p.write_text(JSONL_SUITE)
    with pytest.raises(EvalcliffError) as info:
        build_items(load_suite(str(p)))
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'items.jsonl'}"), msg
    assert expect in msg and "\n" not in msg, msg


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (_slice(margin="5"), "slices.head.margin"),
        (_slice(scorer="code"), "not 'code'"),
        (_slice(margin="0.02") + "    margin: 0.5\n", "duplicate key 'margin'"),
        (b"name: caf\xe9\n", "not UTF-8"),
    ],
    ids=["margin", "scorer", "duplicate", "not-utf8"],
)
def test_cli_suites_show_bad_suite_exits_2_with_one_line(
    tmp_path: Path, content: str | bytes, expect: str
) -> None:
    p = tmp_path / "bad.yaml"
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content)
    result = CliRunner().invoke(cli, ["suites", "show", str(p)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"evalcliff: error: {p}:"), result.stderr
    assert expect in lines[0]
