"""Numeric answers (multi-hop arithmetic): last number in the output, with a magnitude rule."""

from __future__ import annotations

import math
import re

from evalcliff.errors import EvalcliffError
from evalcliff.scoring.score import Score
from evalcliff.suites.items import Item

# A number: optional sign (not when glued to a word, so "COVID-19" and "3-5" give 19 and 5),
# then digits with comma thousands groups only when every group has exactly three digits
# ("1,234,567"; "1,2345" is read as 1 and 2345; "3,4" as 3 and 4), an optional decimal part,
# an optional exponent. Digits never start right after another digit or a decimal point.
_NUMBER = re.compile(
    r"(?:(?<![\w.])(?P<sign>[-+\u2212]))?"
    r"(?<![\d.])"
    r"(?P<body>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<exp>[eE][-+]?\d+)?"
)

REL_TOL = 1e-9
_ABS_TOL = 1e-12


def find_numbers(text: str) -> list[float]:
    """Every number in `text`, in order of appearance, as floats (see `_NUMBER` for the grammar)."""
    out: list[float] = []
    for m in _NUMBER.finditer(text):
        sign = "-" if m.group("sign") in ("-", "\u2212") else ""
        literal = sign + m.group("body").replace(",", "") + (m.group("exp") or "")
        out.append(float(literal))
    return out


def last_number(text: str) -> float | None:
    """The last number in `text`, or None when there is none."""
    numbers = find_numbers(text)
    return numbers[-1] if numbers else None


def magnitude_error(pred: float, gold: float, factor: float = 10.0) -> bool:
    """True iff `pred` is off from `gold` by a factor of `factor` or more in absolute value.

    Signs are ignored (a sign flip alone is not a magnitude error). When exactly one of the
    two is zero, it is a magnitude error iff the other has |x| >= 1. A non-finite prediction
    is always a magnitude error. Ratios within 1e-9 of `factor` count as reaching it.
    """
    if factor <= 1.0:
        raise ValueError(f"factor must be > 1, got {factor}")
    if not math.isfinite(pred):
        return True
    a, b = abs(pred), abs(gold)
    if a == 0.0 and b == 0.0:
        return False
    if a == 0.0 or b == 0.0:
        return max(a, b) >= 1.0
    ratio = max(a, b) / min(a, b)
    return ratio >= factor * (1.0 - REL_TOL)


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else f"{x:.10g}"


def score_numeric(item: Item, output: str) -> Score:
    """Score a numeric answer: the prediction is the LAST number in the output.

    Correct iff it equals the number in `item.target` within a relative tolerance of 1e-9.
    Catastrophic iff the output has no number or `magnitude_error(pred, gold)` (off by >= 10x).
    Raises EvalcliffError when the target holds no number.
    """
    gold = last_number(item.target)
    if gold is None:
        raise EvalcliffError(
            f"item {item.item_id!r}: numeric target {item.target!r} holds no number"
        )
    pred = last_number(output.strip())
    if pred is None:
        return Score(0.0, False, True, "no number in output")
    if math.isclose(pred, gold, rel_tol=REL_TOL, abs_tol=_ABS_TOL):
        return Score(1.0, True, False, None)
    detail = f"expected {_fmt(gold)}, got {_fmt(pred)}"
    if magnitude_error(pred, gold):
        if pred != 0.0 and gold != 0.0 and math.isfinite(pred):
            detail += f"; off by {max(abs(pred), abs(gold)) / min(abs(pred), abs(gold)):.3g}x"
        else:
            detail += "; magnitude error"
        return Score(0.0, False, True, detail)
    return Score(0.0, False, False, detail)
