from __future__ import annotations

from typing import Any

import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.scoring import last_number, magnitude_error, score_numeric
from evalcliff.scoring.numeric import find_numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ans 53", 53.0),
        ("first 12, then 7, so the answer is 53.", 53.0),
        ("-53", -53.0),
        ("\u221253", -53.0),
        ("3.25", 3.25),
        ("about .5 of it", 0.5),
        ("total: $1,234,567.50", 1234567.5),
        ("list 3,4", 4.0),
        ("1,2345", 2345.0),
        ("pages 3-5", 5.0),
        ("COVID-19", 19.0),
        ("x = 1e3", 1000.0),
        ("version 1.5.3", 1.5),
        ("no idea", None),
        ("", None),
    ],
)
def test_last_number(text: str, expected: float | None) -> None:
    assert last_number(text) == expected


def test_find_numbers_order() -> None:
    assert find_numbers("2 apples + 3 pears = 5") == [2.0, 3.0, 5.0]


def test_numeric_correct(item_factory: Any) -> None:
    s = score_numeric(item_factory("53"), "ans 53")
    assert (s.score, s.correct, s.catastrophic) == (1.0, True, False)


def test_numeric_last_number_rule(item_factory: Any) -> None:
    assert score_numeric(item_factory("53"), "53 apples, no wait, 54").correct is False
    assert score_numeric(item_factory("53"), "54? no: 53").correct is True


def test_numeric_decimals(item_factory: Any) -> None:
    assert score_numeric(item_factory("The answer is 2.50"), "= 2.5").correct
    assert not score_numeric(item_factory("2.5"), "2.51").correct
    assert score_numeric(item_factory("0.3"), str(0.1 + 0.2)).correct  # within 1e-9 relative


def test_numeric_magnitude_catastrophic(item_factory: Any) -> None:
    s = score_numeric(item_factory("53"), "530")
    assert (s.correct, s.catastrophic) == (False, True)
    assert s.detail is not None and "off by 10x" in s.detail


def test_numeric_no_number_catastrophic(item_factory: Any) -> None:
    s = score_numeric(item_factory("53"), "no idea")
    assert (s.score, s.correct, s.catastrophic) == (0.0, False, True)
    assert s.detail == "no number in output"
    assert score_numeric(item_factory("53"), "").catastrophic


def test_numeric_sign_flip_is_wrong_not_magnitude(item_factory: Any) -> None:
    s = score_numeric(item_factory("53"), "-53")
    assert (s.correct, s.catastrophic) == (False, False)
    assert s.detail == "expected 53, got -53"


def test_numeric_bad_target(item_factory: Any) -> None:
    with pytest.raises(EvalcliffError, match="holds no number"):
        score_numeric(item_factory("fifty-three"), "53")


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        (530, 53, True),
        (5.3, 53, True),
        (52, 53, False),
        (-53, 53, False),
        (-530, 53, True),
        (99, 10, False),
        (100, 10, True),
        (0.5, 0.05, True),
        (0, 0, False),
        (0, 53, True),
        (53, 0, True),
        (0, 0.5, False),
        (0.5, 0, False),
        (float("inf"), 53, True),
        (float("nan"), 53, True),
    ],
)
def test_magnitude_error(pred: float, gold: float, expected: bool) -> None:
    assert magnitude_error(pred, gold) is expected


def test_magnitude_error_factor() -> None:
    assert magnitude_error(2, 1, factor=2.0)
    assert not magnitude_error(1.9, 1, factor=2.0)
    with pytest.raises(ValueError):
        magnitude_error(1, 1, factor=1.0)
