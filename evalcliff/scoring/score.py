"""The record every scorer returns."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Score:
    """One output's score against its item.

    `score` is a fraction in [0, 1]; `correct` is the slice's pass/fail; `catastrophic` is the
    slice's catastrophic-failure rule (magnitude error, script drift, unparsable code);
    `detail` is a short human-readable reason, or None when there is nothing to say.
    """

    score: float
    correct: bool
    catastrophic: bool
    detail: str | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.score, int | float) and math.isfinite(self.score)):
            raise ValueError(f"score must be a finite number, got {self.score!r}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must lie in [0, 1], got {self.score!r}")
        object.__setattr__(self, "score", float(self.score))
        object.__setattr__(self, "correct", bool(self.correct))
        object.__setattr__(self, "catastrophic", bool(self.catastrophic))
