"""Code slice: write a one-line Python function from a spec in words.

Stratum param `ops` (1-3 chained operations such as "add 3, times 2"). The completion
is executed against generated asserts in the sandbox; an unparseable completion is the
catastrophic failure.
"""

from __future__ import annotations

from random import Random
from typing import Any

from evalcliff.suites.generators import Param, Sample

OPS = {"add": "+", "sub": "-", "times": "*"}
FUNC_NAMES = ["f", "g", "h", "calc", "step", "fn", "op", "val", "comp", "apply"]
VARS = "abcmnpqrstuvwxyz"


# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {"ops": Param("int", required=True, lo=1, hi=8)}
SCORERS = ("code",)


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    n_ops = int(params["ops"])
    name, var = rng.choice(FUNC_NAMES), rng.choice(VARS)
    words, expr = [], var
    for i in range(n_ops):
        op = rng.choice(list(OPS))
        k = rng.randint(1, 9)
        words.append(f"{op} {k}")
        inner = expr if i == 0 else f"({expr})"
        expr = f"{inner}{OPS[op]}{k}"
    prompt = f"# {name}: {', '.join(words)}\ndef {name}({var}):\n    return"
    fn = eval(f"lambda {var}: {expr}")  # noqa: S307 - our own generated expression
    inputs = [0, 1, 2, 5, -3, 11]
    # type-strict: True == 1 == 1.0 would otherwise pass for an int answer
    tests = "\n".join(
        f"assert type(r := {name}({x})) is type({fn(x)}) and r == {fn(x)}" for x in inputs
    )
    return [
        Sample(
            prompt=prompt,
            target=expr,
            completion=expr,
            meta={"tests": tests, "entry_point": name, "ops": n_ops},
        )
    ]
