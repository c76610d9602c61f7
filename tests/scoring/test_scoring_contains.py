"""`contains`: answers found inside free-form outputs, on word bounds."""

from __future__ import annotations

from typing import Any

import pytest

from evalcliff.scoring import contains_answer, get_scorer, score_contains


@pytest.mark.parametrize(
    ("output", "answer", "found"),
    [
        ("The answer is 85.", "85", True),
        ("185", "85", False),
        ("85th", "85", False),
        ("It is 十一月", "一月", False),
        ("一月", "一月", True),
        ("avril", "Avril", True),
        ("The month is   Mai\n", "mai", True),
        ("marshal", "mars", False),
        ("(ግንቦት)", "ግንቦት", True),
        ("x", "", False),
    ],
)
def test_contains_answer(output: str, answer: str, found: bool) -> None:
    assert contains_answer(output, answer) is found


def test_case_sensitive_when_asked() -> None:
    assert not contains_answer("garden", "GARDEN", ignore_case=False)


def test_contains_single_answer(item_factory: Any) -> None:
    assert get_scorer("contains") is score_contains
    item = item_factory("4127730", answer_pattern=r"\d{7}")
    assert score_contains(item, "The special magic number is 4127730.").correct
    wrong = score_contains(item, "It is 4127731.")
    assert (wrong.score, wrong.correct, wrong.catastrophic) == (0.0, False, False)
    collapsed = score_contains(item, "the the the the")
    assert collapsed.catastrophic and collapsed.detail == "no answer-shaped text in output"


def test_contains_all_answers(item_factory: Any) -> None:
    item = item_factory("1, 2", answers=["1111111", "2222222", "3333333"])
    s = score_contains(item, "1111111 and 3333333")
    assert s.score == pytest.approx(2 / 3) and not s.correct and not s.catastrophic
    assert score_contains(item, "3333333, 2222222, 1111111").score == 1.0


def test_contains_without_pattern(item_factory: Any) -> None:
    item = item_factory("Monday")
    assert score_contains(item, "  ").catastrophic
    assert not score_contains(item, "Tuesday").catastrophic
