"""The release policy: confidence, margins, traffic weights and hard rules (YAML, validated).

Scores are fractions in [0, 1], so `margin: 0.02` tolerates a drop of two points.
Unknown keys, duplicate keys, quoted numbers and booleans are errors, never guessed at.

Resolution, per slice and setting: built-in default < policy top level < suite slice
(margin, weight, max_catastrophic_increase only) < policy slice. A suite cannot disable a
rule (its manifest stores None for "not set"); a policy slice can, by writing `null`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from evalcliff.errors import EvalcliffError
from evalcliff.textio import load_yaml, read_text

# Settings a policy slice can disable by writing null (a missing key inherits instead).
NULLABLE_LIMITS = ("max_catastrophic_increase", "max_error_rate", "min_base_score")


class SlicePolicy(BaseModel):
    """Per-slice overrides. A field left out inherits (suite slice, then policy top level).

    `margin`: largest tolerated drop of the slice's mean score (fraction in (0, 1)).
    `weight`: the slice's share of production traffic (any scale; normalised over the slices
    present). `max_catastrophic_increase`, `max_error_rate`, `min_base_score`: see `Policy`;
    written explicitly as `null`, the rule is off for this slice.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    margin: float | None = Field(default=None, gt=0.0, lt=1.0)
    weight: float | None = Field(default=None, ge=0.0)
    max_catastrophic_increase: float | None = Field(default=None, ge=0.0, le=1.0)
    max_error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    min_base_score: float | None = Field(default=None, ge=0.0, lt=1.0)


class Policy(BaseModel):
    """How a comparison becomes a verdict (see DESIGN.md, "Verdict semantics").

    `confidence`: level of the two-sided paired CIs whose bounds decide each slice, in
    [0.5, 0.999]. `margin`: default tolerated drop of a slice's mean score, in (0, 1).
    `inconclusive`: verdict to give when no slice fails but some are undecided.
    `unreliable_pass`: what a passing slice becomes when its CI is one the validation study
    found unreliable: "pass" keeps it, with a warning; "inconclusive" refuses to approve.
    `max_catastrophic_increase`: default limit on the rise of a slice's catastrophic rate
    (fraction; null disables). `max_error_rate`: largest share of a slice's items that may
    error (in either run) before the slice is inconclusive (null: no limit).
    `min_base_score`: a slice whose base mean is at or below it measures nothing for this
    model and cannot pass (null: no floor); `uninformative` says what it becomes.
    `n_resamples`, `seed`: the bootstrap's size and seed.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    confidence: float = Field(default=0.95, ge=0.5, le=0.999)
    margin: float = Field(default=0.02, gt=0.0, lt=1.0)
    inconclusive: Literal["inconclusive", "no-go"] = "inconclusive"
    unreliable_pass: Literal["pass", "inconclusive"] = "pass"
    uninformative: Literal["inconclusive", "fail"] = "inconclusive"
    max_catastrophic_increase: float | None = Field(default=0.05, ge=0.0, le=1.0)
    max_error_rate: float | None = Field(default=0.02, ge=0.0, le=1.0)
    min_base_score: float | None = Field(default=0.05, ge=0.0, lt=1.0)
    n_resamples: int = Field(default=10000, ge=100, le=1_000_000)
    seed: int = Field(default=0, ge=0)
    slices: dict[str, SlicePolicy] = Field(default_factory=dict)

    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file this policy was read from (None: built in or made in code)."""
        return self._source

    def check_slices(self, known: Iterable[str]) -> None:
        """EvalcliffError (naming the file, the slice and the known slices) when the policy
        sets a slice that is not in the runs: a typo would otherwise silently not apply."""
        names = list(known)
        for name in self.slices:
            if name not in names:
                raise EvalcliffError(
                    f"{self._source or 'policy'}: slices.{name}: no slice {name!r} in the runs"
                    f" (known: {', '.join(names) or 'none'}); fix the name or remove it"
                )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        parent = err["loc"][:-1]
        model = SlicePolicy if len(parent) == 2 and parent[0] == "slices" else Policy
        allowed = ", ".join(model.model_fields)
        return f"{loc}: unknown key {err['loc'][-1]!r} (allowed: {allowed})"
    if err["type"] in ("model_type", "dict_type"):
        return f"{loc}: must be a mapping of settings, got {_shown(err.get('input'))}"
    if err["type"] == "finite_number":
        return f"{loc}: must be a finite number, got {_shown(err.get('input'))}"
    return f"{loc}: {err['msg']}, got {_shown(err.get('input'))}"


def _one_line(path: str, exc: ValidationError) -> str:
    errors = exc.errors()
    shown = "; ".join(_describe(dict(e)) for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"{path}: {shown}{more}".replace("\n", " ")


def load_policy(path: str | Path | None) -> Policy:
    """Read and validate a policy YAML file; None gives the built-in default `Policy()`.

    Raises EvalcliffError (one line naming the file and the field path or line) when the
    file is missing or unreadable, is not UTF-8, is not valid YAML, repeats a key, is not a
    mapping, or fails validation. An empty file is the default policy. Slice names are
    checked against the runs later (`Policy.check_slices`).
    """
    if path is None:
        return Policy()
    name = str(path)
    data = load_yaml(read_text(path, "policy file"), name)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EvalcliffError(
            f"{name}: (top level): a policy must be a mapping of keys, got {type(data).__name__}"
        )
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise EvalcliffError(_one_line(name, exc)) from None
    policy._source = name
    return policy
