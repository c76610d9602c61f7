"""Code generation: run the item's tests against the completion in the sandbox."""

from __future__ import annotations

import ast
import queue
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from evalcliff.errors import EvalcliffError
from evalcliff.scoring.sandbox import require_isolation, run_tests_sandboxed
from evalcliff.scoring.sandbox_server import SandboxServer
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


def build_program(item: Item, completion: str) -> str:
    """The program the candidate process runs: prompt + completion. The tests are never in
    it: they run in the sandbox's harness process (see `run_tests_sandboxed`)."""
    return item.prompt + completion + "\n"


def _tests_of(item: Item) -> tuple[str, str]:
    tests, entry_point = item.meta.get("tests"), item.meta.get("entry_point")
    if not isinstance(tests, str):
        raise EvalcliffError(f"item {item.item_id!r}: meta['tests'] (Python source) is missing")
    if not isinstance(entry_point, str) or not entry_point.isidentifier():
        raise EvalcliffError(
            f"item {item.item_id!r}: meta['entry_point'] (the function the tests call) is missing"
        )
    return tests, entry_point


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[-1] if text.strip() else ""
    return line[:_DETAIL_MAX]


def score_code(
    item: Item, output: str, allow_unsandboxed: bool = False, server: SandboxServer | None = None
) -> Score:
    """1.0 iff `item.meta["tests"]` pass against `meta["entry_point"]` as defined by
    prompt + completion, run in the sandbox within its limits (`run_tests_sandboxed`: the
    verdict comes from a harness process the model's code cannot read or write).

    Catastrophic iff prompt + completion does not parse (then it is not run). `detail` is the
    first line of the failure (the exception line, the limit that killed it, or the exit code).
    `item.meta["timeout_s"]` (default 5) sets the wall-clock limit. Raises EvalcliffError when
    `meta["tests"]` or `meta["entry_point"]` is missing, or when the sandbox tier here is below
    "namespaces" and `allow_unsandboxed` is False. With `server`, the tests run through it
    (same isolation and result, without an interpreter start-up per item).
    """
    tests, entry_point = _tests_of(item)
    require_isolation(allow_unsandboxed)
    completion = extract_completion(output)
    try:
        ast.parse(item.prompt + completion)
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
        msg = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        return Score(0.0, False, True, f"syntax error: {msg}{where}"[:_DETAIL_MAX])
    run = run_tests_sandboxed if server is None else server.run_tests
    result = run(
        build_program(item, completion),
        tests,
        entry_point,
        prompt=item.prompt,
        call_check=bool(_CHECK_DEF.search(tests)),
        timeout_s=float(item.meta.get("timeout_s", 5.0)),
    )
    if result.passed:
        return Score(1.0, True, False, None)
    return Score(0.0, False, False, _first_line(result.detail or "failed")[:_DETAIL_MAX])


def score_code_batch(
    items_and_outputs: Iterable[tuple[Item, str]],
    workers: int = 2,
    allow_unsandboxed: bool = False,
) -> list[Score]:
    """`score_code` over many (item, output) pairs, `workers` sandboxes at a time, in order
    (each worker runs its share through one `SandboxServer`).

    Raises EvalcliffError before running anything when the sandbox tier is below
    "namespaces" and `allow_unsandboxed` is False.
    """
    pairs = list(items_and_outputs)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if not pairs:
        return []
    require_isolation(allow_unsandboxed)
    n = min(workers, len(pairs))
    servers = [SandboxServer() for _ in range(n)]
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(pairs)):
        todo.put(i)

    def work(k: int) -> list[tuple[int, Score]]:
        done: list[tuple[int, Score]] = []
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return done
            done.append((i, score_code(*pairs[i], allow_unsandboxed, servers[k])))

    out: list[Score | None] = [None] * len(pairs)
    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            for done in pool.map(work, range(n)):
                for i, score in done:
                    out[i] = score
    finally:
        for server in servers:
            server.close()
    return [s for s in out if s is not None]
