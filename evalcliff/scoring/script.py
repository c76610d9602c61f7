"""Low-resource languages: exact answer plus script fidelity (did the answer drift scripts?)."""

from __future__ import annotations

import unicodedata
from collections import Counter

from evalcliff.errors import EvalcliffError
from evalcliff.scoring.contains import contains_answer
from evalcliff.scoring.exact import normalise_text
from evalcliff.scoring.score import Score
from evalcliff.scoring.unicode_scripts import (
    COMMON,
    char_script,
    known_script_names,
    resolve_script,
)
from evalcliff.suites.items import Item

DRIFT_THRESHOLD = 0.5


def script_profile(text: str) -> Counter[str]:
    """Count the letters and digits (Unicode categories L* and N*) of `text` per script."""
    counts: Counter[str] = Counter()
    for ch in unicodedata.normalize("NFC", text):
        if unicodedata.category(ch)[0] in "LN":
            counts[char_script(ch)] += 1
    return counts


def _expected(script: str) -> frozenset[str]:
    try:
        members = resolve_script(script)
    except KeyError:
        raise EvalcliffError(
            f"unknown script {script!r}; known: {', '.join(known_script_names())}"
        ) from None
    # ASCII digits are Common: in-script only for Latin (or Common) answers, so a Devanagari
    # answer written with ASCII digits counts as drift.
    return members | {COMMON} if members & {"Latin", COMMON} else members


def script_fidelity(text: str, script: str) -> float | None:
    """Share in [0, 1] of the letters and digits of `text` written in `script`.

    `script` is a `char_script` name ("Devanagari", "Arabic", ...) or a group ("Japanese").
    Common characters (ASCII digits) count as in-script only when `script` is Latin or Common.
    Returns None when `text` has no letters or digits. Raises EvalcliffError for an unknown
    script name.
    """
    expected = _expected(script)
    counts = script_profile(text)
    total = sum(counts.values())
    if total == 0:
        return None
    return sum(n for s, n in counts.items() if s in expected) / total


def score_script(item: Item, output: str) -> Score:
    """Binary exact match after NFC and whitespace normalisation, with script fidelity.

    The expected script is `item.meta["script"]`. Catastrophic iff the fidelity of the output
    is below 0.5 (the answer drifted into another script); an output with no letters or digits
    has no fidelity and is not catastrophic. `detail` reports the fidelity (and on drift, the
    dominant scripts). Raises EvalcliffError when `meta["script"]` is missing or unknown.

    With `item.meta["match"] == "contains"` (free-form outputs), correct iff the target occurs
    in the output, case-insensitively and not glued to other letters (`contains_answer`), and
    catastrophic iff it does not and the output's fidelity is below 0.5: a correct answer
    framed in other words ("The answer is ግንቦት") has not drifted.
    """
    script = item.meta.get("script")
    if not isinstance(script, str):
        raise EvalcliffError(
            f"item {item.item_id!r}: meta['script'] (e.g. 'Devanagari') is missing"
        )
    text = output.strip()
    fidelity = script_fidelity(text, script)
    drifted = fidelity is not None and fidelity < DRIFT_THRESHOLD
    if item.meta.get("match") == "contains":
        correct = contains_answer(text, item.target)
        catastrophic = drifted and not correct
    else:
        correct = normalise_text(text) == normalise_text(item.target)
        catastrophic = drifted
    if fidelity is None:
        detail = "no letters or digits in output"
    elif drifted:
        counts = script_profile(text)
        total = sum(counts.values())
        top = ", ".join(f"{s} {n / total:.0%}" for s, n in counts.most_common(2))
        detail = f"script drift: {top} ({script} {fidelity:.0%})"
    else:
        detail = f"script fidelity {fidelity:.0%} {script}"
    return Score(1.0 if correct else 0.0, correct, catastrophic, detail)
