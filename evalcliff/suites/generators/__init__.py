"""Deterministic item generators, one module per slice kind.

A generator is `generate(rng: random.Random, params: dict) -> list[Sample]`: one call
makes one *cluster* of samples that share a source (e.g. several questions about one
haystack). The registry maps names to import paths, so a generator is imported only
when a suite uses it.
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

GENERATORS: dict[str, str] = {
    "head": "evalcliff.suites.generators.head",
    "kv_retrieval": "evalcliff.suites.generators.long_context",
    "native_digits": "evalcliff.suites.generators.low_resource",
    "chained_arith": "evalcliff.suites.generators.multihop",
    "arith_function": "evalcliff.suites.generators.code",
}


def get_generator(name: str) -> Generator:
    """The generator registered as `name`; EvalcliffError lists the known names."""
    if name not in GENERATORS:
        raise EvalcliffError(f"unknown generator {name!r}; known: {sorted(GENERATORS)}")
    module = importlib.import_module(GENERATORS[name])
    fn: Generator = module.generate
    return fn
