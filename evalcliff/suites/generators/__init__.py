"""Deterministic item generators, one module per slice kind.

A generator is `generate(rng: random.Random, params: dict) -> list[Sample]`: one call
makes one *cluster* of samples that share a source (e.g. several questions about one
haystack). A module may also define `enumerate_samples(params) -> list[Sample] | None`:
for strata that are a fixed, finite set (HumanEval), it returns them all and the build takes
`items_per_stratum` of them (all, in order, or a seeded subset), each its own cluster; None
means "generate instead". The registry maps names to import paths, so a generator is
imported only when a suite uses it.

Smoke-suite generators (`head`, `kv_retrieval`, `native_digits`, `chained_arith`,
`arith_function`) feed the embedded model's training: their output must not change.
The tail-suite generators (`head_tasks`, `ruler`, `cldr_language`, `arith_chain`,
`code_tasks`) are written for real models.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from evalcliff.errors import EvalcliffError


@dataclass(frozen=True)
class Sample:
    """One generated prompt. `completion` is the reference continuation used for training
    (e.g. a chain of intermediate results); `target` is what the scorer checks."""

    prompt: str
    target: str
    completion: str
    meta: dict[str, Any] = field(default_factory=dict)


Generator = Callable[[Random, dict[str, Any]], list[Sample]]
Enumerator = Callable[[dict[str, Any]], list[Sample] | None]

GENERATORS: dict[str, str] = {
    "head": "evalcliff.suites.generators.head",
    "kv_retrieval": "evalcliff.suites.generators.long_context",
    "native_digits": "evalcliff.suites.generators.low_resource",
    "chained_arith": "evalcliff.suites.generators.multihop",
    "arith_function": "evalcliff.suites.generators.code",
    "head_tasks": "evalcliff.suites.generators.head_tasks",
    "ruler": "evalcliff.suites.generators.ruler",
    "cldr_language": "evalcliff.suites.generators.cldr_language",
    "arith_chain": "evalcliff.suites.generators.arith_chain",
    "code_tasks": "evalcliff.suites.generators.code_tasks",
}


def get_generator(name: str) -> Generator:
    """The generator registered as `name`; EvalcliffError lists the known names."""
    if name not in GENERATORS:
        raise EvalcliffError(f"unknown generator {name!r}; known: {sorted(GENERATORS)}")
    module = importlib.import_module(GENERATORS[name])
    fn: Generator = module.generate
    return fn


def get_enumerator(name: str) -> Enumerator | None:
    """The generator's `enumerate_samples` when its module defines one, else None."""
    get_generator(name)  # validates the name
    module = importlib.import_module(GENERATORS[name])
    fn: Enumerator | None = getattr(module, "enumerate_samples", None)
    return fn
