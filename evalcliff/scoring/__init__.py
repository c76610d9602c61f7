"""Scorers: pure functions `(item, output) -> Score`, one per kind of slice.

`SCORERS` maps the names suites use (`exact`, `contains`, `numeric`, `script`, `code`) to scorers;
`get_scorer(name)` looks one up. Every scorer strips surrounding whitespace from the output
(`code` only trailing whitespace: indentation is syntax) and accepts any string, empty included.
"""

from __future__ import annotations

from collections.abc import Callable

from evalcliff.errors import EvalcliffError
from evalcliff.scoring.code import score_code, score_code_batch
from evalcliff.scoring.contains import contains_answer, score_contains
from evalcliff.scoring.exact import score_exact
from evalcliff.scoring.numeric import last_number, magnitude_error, score_numeric
from evalcliff.scoring.sandbox import SandboxResult, detect_isolation, run_sandboxed
from evalcliff.scoring.score import Score
from evalcliff.scoring.script import score_script, script_fidelity
from evalcliff.scoring.unicode_scripts import char_script
from evalcliff.suites.items import Item

Scorer = Callable[[Item, str], Score]

SCORERS: dict[str, Scorer] = {
    "exact": score_exact,
    "contains": score_contains,
    "numeric": score_numeric,
    "script": score_script,
    "code": score_code,
}

# Each scorer's catastrophic-failure rule, in words (shown by `evalcliff suites show`).
CATASTROPHIC_RULES: dict[str, str] = {
    "exact": "never",
    "contains": "no expected answer found and nothing answer-shaped in the output "
    "(meta answer_pattern, else no letter or digit)",
    "numeric": "no number in the output, or off by 10x or more",
    "script": "the answer drifted into another script (fidelity < 0.5; with match: contains, "
    "only when the answer is also wrong)",
    "code": "the completion does not parse",
}


def get_scorer(name: str) -> Scorer:
    """The scorer registered as `name`; EvalcliffError naming the known ones otherwise."""
    try:
        return SCORERS[name]
    except KeyError:
        raise EvalcliffError(
            f"unknown scorer {name!r}; known scorers: {', '.join(sorted(SCORERS))}"
        ) from None


__all__ = [
    "CATASTROPHIC_RULES",
    "SCORERS",
    "SandboxResult",
    "Score",
    "Scorer",
    "char_script",
    "contains_answer",
    "detect_isolation",
    "get_scorer",
    "last_number",
    "magnitude_error",
    "run_sandboxed",
    "score_code",
    "score_code_batch",
    "score_contains",
    "score_exact",
    "score_numeric",
    "score_script",
    "script_fidelity",
]
