"""Answers found inside a free-form output (RULER's `string_match_all`, with word bounds).

Used where a model may wrap its answer in words ("The special magic number is 4127730."):
long-context retrieval, short head tasks, and the low-resource slice's `match: contains` mode.
"""

from __future__ import annotations

import re
import unicodedata

from evalcliff.scoring.exact import normalise_text
from evalcliff.scoring.score import Score
from evalcliff.suites.items import Item


def _is_word_char(ch: str) -> bool:
    # Letters, digits and combining marks (Brahmic vowel signs, Yoruba tone marks) glue a
    # match to its neighbours: "85" is not found in "185", nor 一月 in 十一月.
    return unicodedata.category(ch)[0] in "LNM"


def contains_answer(output: str, answer: str, *, ignore_case: bool = True) -> bool:
    """True iff `answer` occurs in `output` not glued to a letter, digit or mark on either side.

    Both are NFC-normalised with whitespace runs collapsed (and casefolded when `ignore_case`).
    An empty answer is never found.
    """
    out = normalise_text(output, ignore_case=ignore_case)
    ans = normalise_text(answer, ignore_case=ignore_case)
    if not ans:
        return False
    start = out.find(ans)
    while start != -1:
        end = start + len(ans)
        before_ok = start == 0 or not _is_word_char(out[start - 1])
        after_ok = end == len(out) or not _is_word_char(out[end])
        if before_ok and after_ok:
            return True
        start = out.find(ans, start + 1)
    return False


def answers_of(item: Item) -> list[str]:
    """The answers an item expects: `meta["answers"]` (a list of strings) or `[target]`."""
    answers = item.meta.get("answers")
    if isinstance(answers, list) and answers and all(isinstance(a, str) for a in answers):
        return answers
    return [item.target]


def score_contains(item: Item, output: str) -> Score:
    """Share of the expected answers found in the output (see `contains_answer`).

    `score` = found / expected (RULER's string_match_all); `correct` iff all are found.
    Case-insensitive unless `item.meta["ignore_case"]` is false. Catastrophic iff none is found
    and the output holds nothing answer-shaped: no match of the regex `item.meta["answer_pattern"]`
    (e.g. `\\d{7}` for a 7-digit magic number) or, without a pattern, no letter or digit at all.
    """
    ignore_case = bool(item.meta.get("ignore_case", True))
    answers = answers_of(item)
    found = sum(contains_answer(output, a, ignore_case=ignore_case) for a in answers)
    frac = found / len(answers)
    if found == len(answers):
        return Score(1.0, True, False, None)
    pattern = item.meta.get("answer_pattern")
    if found:
        return Score(frac, False, False, f"found {found} of {len(answers)} answers")
    if isinstance(pattern, str):
        shaped = re.search(pattern, unicodedata.normalize("NFC", output)) is not None
    else:
        shaped = any(_is_word_char(ch) for ch in output)
    if not shaped:
        return Score(0.0, False, True, "no answer-shaped text in output")
    return Score(0.0, False, False, "answer not found")
