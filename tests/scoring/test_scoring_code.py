from __future__ import annotations

from typing import Any

import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.scoring import score_code, score_code_batch
from evalcliff.scoring.code import build_program, extract_completion

PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"


def _item(item_factory: Any, **meta: Any) -> Any:
    meta = {"tests": TESTS, "entry_point": "add", **meta}
    return item_factory("", prompt=PROMPT, slice_="code", **meta)


def test_code_passing(item_factory: Any) -> None:
    s = score_code(_item(item_factory), "    return a + b\n")
    assert (s.score, s.correct, s.catastrophic, s.detail) == (1.0, True, False, None)


def test_code_failing_assertion(item_factory: Any) -> None:
    s = score_code(_item(item_factory), "    return a - b\n")
    assert (s.score, s.correct, s.catastrophic) == (0.0, False, False)
    assert s.detail == "AssertionError"


def test_code_runtime_error_detail(item_factory: Any) -> None:
    s = score_code(_item(item_factory), "    return a + c\n")
    assert s.detail == "NameError: name 'c' is not defined"


def test_code_syntax_error_is_catastrophic(item_factory: Any) -> None:
    s = score_code(_item(item_factory), "    return a +\n")
    assert (s.score, s.correct, s.catastrophic) == (0.0, False, True)
    assert s.detail is not None and s.detail.startswith("syntax error")


def test_code_early_exit_does_not_pass(item_factory: Any) -> None:
    s = score_code(_item(item_factory), "    return 0\nimport sys\nsys.exit(0)\n")
    assert not s.correct and s.detail == "RuntimeError: SystemExit: 0"
    s = score_code(_item(item_factory), "    return 0\nimport os\nos._exit(0)\n")
    assert (s.correct, s.detail) == (False, "exited 0 before the tests finished")


def test_code_timeout(item_factory: Any) -> None:
    s = score_code(_item(item_factory, timeout_s=0.5), "    while True:\n        pass\n")
    assert not s.correct and not s.catastrophic
    assert s.detail is not None and ("timeout" in s.detail or "CPU" in s.detail)


def test_code_fenced_output(item_factory: Any) -> None:
    out = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."
    assert extract_completion(out) == "def add(a, b):\n    return a + b"
    assert score_code(_item(item_factory), out).correct


def test_build_program_without_check(item_factory: Any) -> None:
    item = item_factory("", prompt=PROMPT, tests="assert add(1, 1) == 2\n", entry_point="add")
    program = build_program(item, "    return a + b")
    assert "check(add)" not in program and program.startswith(PROMPT + "    return a + b")
    assert score_code(item, "    return a + b").correct


def test_code_missing_tests(item_factory: Any) -> None:
    with pytest.raises(EvalcliffError, match="meta\\['tests'\\]"):
        score_code(item_factory("", prompt=PROMPT), "    return a + b\n")


def test_code_batch_keeps_order(item_factory: Any) -> None:
    item = _item(item_factory)
    outs = ["    return a + b\n", "    return a * b\n", "    return (\n", "    return b + a\n"]
    scores = score_code_batch([(item, o) for o in outs], workers=2)
    assert [s.correct for s in scores] == [True, False, False, True]
    assert [s.catastrophic for s in scores] == [False, False, True, False]
