"""Multi-hop arithmetic for real models: a chain of variable definitions, each one hop.

Stratum params: `hops` (number of operations, 1-8 in the tail suite) and `digits` (operand
magnitude: the start value and the added/subtracted constants have this many digits).
Operations: add or subtract a constant, multiply by 2-9, or add an earlier variable. Values
stay non-negative. The target is the last variable's value (an integer, at most about
10^(digits + hops)); the numeric scorer reads the last number of the answer and flags
answers off by 10x or more as catastrophic.
"""

from __future__ import annotations

import string
from random import Random
from typing import Any

from evalcliff.suites.generators import Param, Sample

NAMES = [c for c in string.ascii_lowercase if c not in "lo"]  # l and o read as 1 and 0


# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {
    "hops": Param("int", required=True, lo=1, hi=len(NAMES) - 1),
    "digits": Param("int", required=True, lo=1, hi=12),
}
SCORERS = ("numeric", "exact", "contains")


def _operand(rng: Random, digits: int) -> int:
    return rng.randrange(10 ** (digits - 1) if digits > 1 else 1, 10**digits)


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    hops, digits = int(params["hops"]), int(params["digits"])
    if not 1 <= hops < len(NAMES):
        raise ValueError(f"arith_chain: hops {hops} is out of range 1..{len(NAMES) - 1}")
    names = rng.sample(NAMES, hops + 1)
    values = [_operand(rng, digits)]
    lines = [f"Let {names[0]} = {values[0]}."]
    for i in range(1, hops + 1):
        prev, name = values[-1], names[i]
        kinds = ["add", "sub", "mul"] + (["var"] if i >= 2 else [])
        kind = rng.choice(kinds)
        if kind == "sub":
            k = _operand(rng, digits)
            kind = "sub" if k <= prev else "add"
        if kind == "add":
            k = _operand(rng, digits)
            values.append(prev + k)
            lines.append(f"Let {name} = {names[i - 1]} + {k}.")
        elif kind == "sub":
            values.append(prev - k)
            lines.append(f"Let {name} = {names[i - 1]} - {k}.")
        elif kind == "mul":
            k = rng.randint(2, 9)
            values.append(prev * k)
            lines.append(f"Let {name} = {names[i - 1]} * {k}.")
        else:
            j = rng.randrange(i - 1)
            values.append(prev + values[j])
            lines.append(f"Let {name} = {names[i - 1]} + {names[j]}.")
    answer = str(values[-1])
    prompt = (
        "\n".join(lines)
        + f"\nWhat is the value of {names[-1]}? Answer with the number only.\nAnswer:"
    )
    return [
        Sample(
            prompt=prompt,
            target=answer,
            completion=" " + answer,
            meta={"hops": hops, "digits": digits, "steps": [str(v) for v in values]},
        )
    ]
