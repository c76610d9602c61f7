"""Deterministic item generators, one module per slice kind.

A generator is `generate(rng: random.Random, params: dict) -> list[Sample]`: one call
makes one *cluster* of samples that share a source (e.g. several questions about one
haystack). A module may also define `enumerate_samples(params) -> list[Sample] | None`:
for strata that are a fixed, finite set (HumanEval), it returns them all and the build takes
`items_per_stratum` of them (all, in order, or a seeded subset), each its own cluster; None
means "generate instead". The registry maps names to import paths, so a generator is
imported only when a suite uses it.

Every generator module also declares what it accepts, checked when a suite is loaded (before
any work): `PARAMS: dict[str, Param]` (each stratum key or fixed param, its type and allowed
values or range; any other key is an error) and `SCORERS: tuple[str, ...]` (the scorers its
items carry the targets and meta for; e.g. `code` needs `meta.tests`). `check_generator_slice`
applies them.

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
from typing import Any, Literal

from evalcliff.errors import EvalcliffError


@dataclass(frozen=True)
class Sample:
    """One generated prompt. `completion` is the reference continuation used for training
    (e.g. a chain of intermediate results); `target` is what the scorer checks."""

    prompt: str
    target: str
    completion: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """One parameter a generator accepts (as a stratum key or a fixed param).

    `kind`: "int", "float", "str" or "length" (an int or a string like `4k`); `choices`: the
    allowed values (empty: any of the kind); `lo`/`hi`: an inclusive range for numbers;
    `check`: a further test that raises ValueError with the reason (e.g. a known locale).
    """

    kind: Literal["int", "float", "str", "length"]
    required: bool = False
    choices: tuple[Any, ...] = ()
    lo: float | None = None
    hi: float | None = None
    check: Callable[[Any], object] | None = None

    def problem(self, value: Any) -> str | None:
        """Why `value` is not allowed, or None."""
        if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
            return f"{value!r} is not a {self.kind}"
        number: float | None = None
        if self.kind == "int":
            if not isinstance(value, int):
                return f"{value!r} is not an integer"
            number = value
        elif self.kind == "float":
            if not isinstance(value, (int, float)) or value != value:
                return f"{value!r} is not a number"
            number = float(value)
        elif self.kind == "length":
            from evalcliff.suites.lengths import parse_length

            try:
                number = parse_length(value)
            except ValueError as exc:
                return str(exc)
        elif not isinstance(value, str):
            return f"{value!r} is not a string"
        if self.choices and value not in self.choices:
            return f"{value!r} is not one of {', '.join(map(str, self.choices))}"
        if number is not None and self.lo is not None and number < self.lo:
            return f"{value!r} is below {self.lo:g}"
        if number is not None and self.hi is not None and number > self.hi:
            return f"{value!r} is above {self.hi:g}"
        if self.check is not None:
            try:
                self.check(value)
            except Exception as exc:  # noqa: BLE001 - any failure means "not allowed"
                return f"{value!r}: {' '.join(str(exc).split()) or type(exc).__name__}"
        return None


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


def check_generator_slice(
    name: str, scorer: str, params: dict[str, Any], grids: list[dict[str, list[Any]]]
) -> str | None:
    """Why a slice's generator settings are refused ("FIELD: reason"), or None if accepted:
    an unknown generator, a scorer its items do not support, an unknown param or stratum
    key, a value outside the allowed set or range, or a required param missing."""
    if name not in GENERATORS:
        return f"generator: unknown generator {name!r}; known: {', '.join(sorted(GENERATORS))}"
    module = importlib.import_module(GENERATORS[name])
    accepted: dict[str, Param] = getattr(module, "PARAMS", {})
    scorers: tuple[str, ...] = getattr(module, "SCORERS", ())
    if scorers and scorer not in scorers:
        return (
            f"scorer: generator {name!r} makes items for scorer {'/'.join(scorers)}, not {scorer!r}"
        )
    known = ", ".join(accepted) or "none"
    for key, value in params.items():
        if key not in accepted:
            return f"params.{key}: generator {name!r} takes no param {key!r} (known: {known})"
        why = accepted[key].problem(value)
        if why:
            return f"params.{key}: {why}"
    for i, grid in enumerate(grids):
        where = f"strata[{i}]" if len(grids) > 1 else "strata"
        for key, values in grid.items():
            if key not in accepted:
                return f"{where}.{key}: generator {name!r} has no param {key!r} (known: {known})"
            for value in values:
                why = accepted[key].problem(value)
                if why:
                    return f"{where}.{key}: {why}"
        missing = [
            k for k, p in accepted.items() if p.required and k not in grid and k not in params
        ]
        if missing:
            return f"{where}: generator {name!r} needs {', '.join(missing)} (in strata or params)"
    return None
