"""Normalised exact match: the head slice's scorer."""

from __future__ import annotations

import unicodedata

from evalcliff.scoring.score import Score
from evalcliff.suites.items import Item


def normalise_text(text: str, *, ignore_case: bool = False) -> str:
    """NFC-normalise, strip, collapse each whitespace run to one space; casefold if asked."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text.casefold() if ignore_case else text


def score_exact(item: Item, output: str) -> Score:
    """1.0 iff the normalised output equals the normalised `item.target`.

    Case-sensitive unless `item.meta["ignore_case"]` is truthy. Never catastrophic.
    """
    ignore_case = bool(item.meta.get("ignore_case", False))
    pred = normalise_text(output, ignore_case=ignore_case)
    gold = normalise_text(item.target, ignore_case=ignore_case)
    if pred == gold:
        return Score(1.0, True, False, None)
    detail = "empty output" if not pred else "mismatch"
    return Score(0.0, False, False, detail)
