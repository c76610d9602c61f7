"""Head slice: short, common tasks (the 'median' a usual eval suite measures).

Tasks (stratum `task=`): `succ` (successor of an integer < 10^5), `copy` (echo a word),
`rev` (reverse a short word), `add` (sum of two numbers < 100).
"""

from __future__ import annotations

import string
from random import Random
from typing import Any

from evalcliff.suites.generators import Param, Sample

LETTERS = string.ascii_lowercase


# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {
    "task": Param("str", required=True, choices=("succ", "copy", "rev", "add")),
}
SCORERS = ("exact", "contains")


def _word(rng: Random, lo: int, hi: int) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(rng.randint(lo, hi)))


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    task = str(params["task"])
    if task == "succ":
        n = rng.randrange(100_000)
        prompt, answer = f"succ {n} =", str(n + 1)
    elif task == "copy":
        w = _word(rng, 3, 7)
        prompt, answer = f"copy {w} =", w
    elif task == "rev":
        w = _word(rng, 3, 5)
        prompt, answer = f"rev {w} =", w[::-1]
    elif task == "add":
        a, b = rng.randrange(100), rng.randrange(100)
        prompt, answer = f"add {a}+{b} =", str(a + b)
    else:
        raise ValueError(f"head: unknown task {task!r}")
    return [Sample(prompt=prompt, target=answer, completion=answer)]
