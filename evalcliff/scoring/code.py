"""Code generation: run the completion against the item's tests in the sandbox."""

from __future__ import annotations

import ast
import re
import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from evalcliff.errors import EvalcliffError
from evalcliff.scoring.sandbox import run_sandboxed
from evalcliff.scoring.score import Score
from evalcliff.suites.items import Item

_FENCE = re.compile(r"^```[\w+-]*[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_CHECK_DEF = re.compile(r"^def check\s*\(", re.MULTILINE)
_DETAIL_MAX = 200


def extract_completion(output: str) -> str:
    """The code in a model output: the first ```-fenced block if there is one, else the output.

    Only trailing whitespace is stripped: a completion's leading indentation is syntax.
    """
    fenced = _FENCE.search(output)
    return (fenced.group(1) if fenced else output).rstrip()


def build_program(item: Item, completion: str, sentinel: str = "") -> str:
    """prompt + completion + tests (+ `check(entry_point)` when the tests define `check` and
    `item.meta` names an entry point), then, if given, a line printing `sentinel` to stdout."""
    tests = item.meta.get("tests")
    if not isinstance(tests, str):
        raise EvalcliffError(f"item {item.item_id!r}: meta['tests'] (Python source) is missing")
    program = item.prompt + completion + "\n\n" + tests + "\n"
    entry_point = item.meta.get("entry_point")
    if isinstance(entry_point, str) and entry_point and _CHECK_DEF.search(tests):
        program += f"\ncheck({entry_point})\n"
    if sentinel:
        # Proves the tests ran to the end: a completion that calls sys.exit(0) early exits 0
        # without it, and cannot forge it (it is drawn after the completion was written).
        program += (
            "\nimport os as _evalcliff_os, sys as _evalcliff_sys\n"
            "_evalcliff_sys.stdout.flush()\n"
            f"_evalcliff_os.write(1, b'\\n{sentinel}\\n')\n"
        )
    return program


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[-1] if text.strip() else ""
    return line[:_DETAIL_MAX]


def score_code(item: Item, output: str) -> Score:
    """1.0 iff prompt + completion + `item.meta["tests"]` exits 0 in the sandbox, within limits.

    Catastrophic iff prompt + completion does not parse (then it is not run). `detail` is the
    first line of the failure (the exception line, the limit that killed it, or the exit code).
    `item.meta["timeout_s"]` (default 5) sets the wall-clock limit. Raises EvalcliffError when
    `meta["tests"]` is missing.
    """
    completion = extract_completion(output)
    try:
        ast.parse(item.prompt + completion)
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
        msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        return Score(0.0, False, True, f"syntax error: {msg}{where}"[:_DETAIL_MAX])
    sentinel = f"evalcliff-tests-finished-{secrets.token_hex(8)}"
    program = build_program(item, completion, sentinel)
    result = run_sandboxed(program, timeout_s=float(item.meta.get("timeout_s", 5.0)))
    if result.ok and sentinel in result.stdout:
        return Score(1.0, True, False, None)
    if result.killed_reason:
        detail = result.killed_reason
    elif result.returncode != 0:
        detail = _first_line(result.stderr) or f"exit code {result.returncode}"
    else:
        detail = "exited 0 before the tests finished"
    return Score(0.0, False, False, detail[:_DETAIL_MAX])


def score_code_batch(
    items_and_outputs: Iterable[tuple[Item, str]],
    workers: int = 2,
) -> list[Score]:
    """`score_code` over many (item, output) pairs, `workers` sandboxes at a time, in order."""
    pairs = list(items_and_outputs)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda pair: score_code(*pair), pairs))
