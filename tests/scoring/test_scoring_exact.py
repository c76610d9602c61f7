from __future__ import annotations

from typing import Any

from evalcliff.scoring import score_exact


def test_exact_normalises_whitespace(item_factory: Any) -> None:
    item = item_factory("Paris  is nice")
    s = score_exact(item, "\n  Paris is\tnice \n")
    assert (s.score, s.correct, s.catastrophic) == (1.0, True, False)


def test_exact_case_sensitive_by_default(item_factory: Any) -> None:
    assert not score_exact(item_factory("Paris"), "paris").correct
    assert score_exact(item_factory("Paris", ignore_case=True), "PARIS").correct


def test_exact_nfc(item_factory: Any) -> None:
    assert score_exact(item_factory("caf\u00e9"), "cafe\u0301").correct


def test_exact_wrong_and_empty_are_not_catastrophic(item_factory: Any) -> None:
    wrong = score_exact(item_factory("Paris"), "London")
    empty = score_exact(item_factory("Paris"), "   ")
    assert (wrong.score, wrong.catastrophic) == (0.0, False)
    assert (empty.score, empty.catastrophic, empty.detail) == (0.0, False, "empty output")
