"""The release policy: confidence, margins, traffic weights and hard rules (YAML, validated).

Scores are fractions in [0, 1], so `margin: 0.02` tolerates a drop of two points.
Unknown keys are errors, never ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalcliff.errors import EvalcliffError


class SlicePolicy(BaseModel):
    """Per-slice overrides. A field left out inherits (suite default, then policy default).

    `margin`: largest tolerated drop of the slice's mean score (fraction). `weight`: the
    slice's share of production traffic (any scale; normalised over the slices present).
    `max_catastrophic_increase`: largest tolerated rise of the catastrophic rate (fraction);
    writing it explicitly as `null` disables the rule for this slice.
    """

    model_config = ConfigDict(extra="forbid")

    margin: float | None = Field(default=None, ge=0.0, le=1.0)
    weight: float | None = Field(default=None, ge=0.0)
    max_catastrophic_increase: float | None = Field(default=None, ge=0.0, le=1.0)


class Policy(BaseModel):
    """How a comparison becomes a verdict (see DESIGN.md, "Verdict semantics").

    `confidence`: level of the two-sided paired CIs whose bounds decide each slice.
    `margin`: default tolerated drop of a slice's mean score (fraction).
    `inconclusive`: verdict to give when no slice fails but some are undecided.
    `unreliable_pass`: what a passing slice becomes when its CI is one the validation study
    found unreliable (too few items, clusters or informative units; see
    evalcliff.stats.reliability): "pass" keeps it, with a warning; "inconclusive" refuses to
    approve on such evidence.
    `max_catastrophic_increase`: default limit on the rise of every slice's catastrophic rate
    (fraction; None disables). `n_resamples`, `seed`: the bootstrap's size and seed.
    """

    model_config = ConfigDict(extra="forbid")

    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    margin: float = Field(default=0.02, ge=0.0, le=1.0)
    inconclusive: Literal["inconclusive", "no-go"] = "inconclusive"
    unreliable_pass: Literal["pass", "inconclusive"] = "pass"
    max_catastrophic_increase: float | None = Field(default=0.05, ge=0.0, le=1.0)
    n_resamples: int = Field(default=10000, ge=100, le=1_000_000)
    seed: int = Field(default=0, ge=0)
    slices: dict[str, SlicePolicy] = Field(default_factory=dict)


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        parent = err["loc"][:-1]
        model = SlicePolicy if len(parent) == 2 and parent[0] == "slices" else Policy
        allowed = ", ".join(model.model_fields)
        return f"{loc}: unknown key {err['loc'][-1]!r} (allowed: {allowed})"
    return f"{loc}: {err['msg']}"


def _one_line(path: str, exc: ValidationError) -> str:
    errors = exc.errors()
    shown = "; ".join(_describe(dict(e)) for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"{path}: {shown}{more}"


def load_policy(path: str | Path | None) -> Policy:
    """Read and validate a policy YAML file; None gives the built-in default `Policy()`.

    Raises EvalcliffError (one line naming the file and the field path) when the file is
    missing or unreadable, is not valid YAML, is not a mapping, or fails validation.
    An empty file is the default policy.
    """
    if path is None:
        return Policy()
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvalcliffError(f"{name}: policy file not found") from None
    except OSError as exc:
        raise EvalcliffError(f"{name}: cannot read policy file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise EvalcliffError(f"{name}: {where}invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EvalcliffError(
            f"{name}: a policy must be a mapping of keys, got {type(data).__name__}"
        )
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise EvalcliffError(_one_line(name, exc)) from None
