"""Multi-hop arithmetic slice: a chain of additions/subtractions, answered step by step.

Stratum param `hops` (number of operations). The reference completion lists the running
totals (`50 45 53`); the scorer parses the last number and flags magnitude errors.
"""

from __future__ import annotations

from random import Random
from typing import Any

from evalcliff.suites.generators import Param, Sample

# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {"hops": Param("int", required=True, lo=1, hi=64)}
SCORERS = ("numeric", "exact", "contains")


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    hops = int(params["hops"])
    total = rng.randint(20, 79)
    expr, steps = str(total), []
    for _ in range(hops):
        d = rng.randint(1, 9)
        if rng.random() < 0.5 and total - d >= 0:
            expr += f"-{d}"
            total -= d
        else:
            expr += f"+{d}"
            total += d
        steps.append(str(total))
    return [
        Sample(
            prompt=f"calc {expr} =",
            target=str(total),
            completion=" ".join(steps),
            meta={"hops": hops},
        )
    ]
