"""`script` with `match: contains` (free-form outputs) on hand-made low-resource cases."""

from __future__ import annotations

from typing import Any

from evalcliff.scoring import score_script


def _item(item_factory: Any) -> Any:
    # Amharic: "which month is 3 months after February?" -> May (ሜይ).
    return item_factory("ሜይ", script="Ethiopic", match="contains")


def test_correct_answer_in_script(item_factory: Any) -> None:
    s = score_script(_item(item_factory), "ሜይ")
    assert (s.score, s.correct, s.catastrophic) == (1.0, True, False)


def test_correct_answer_framed_in_english_is_not_drift(item_factory: Any) -> None:
    s = score_script(_item(item_factory), "The answer is ሜይ.")
    assert s.correct and not s.catastrophic


def test_answer_drifted_into_latin_is_catastrophic(item_factory: Any) -> None:
    s = score_script(_item(item_factory), "May")
    assert not s.correct and s.catastrophic and s.detail and "script drift" in s.detail


def test_wrong_answer_in_script_is_not_catastrophic(item_factory: Any) -> None:
    s = score_script(_item(item_factory), "ጁን")
    assert not s.correct and not s.catastrophic


def test_exact_mode_unchanged(item_factory: Any) -> None:
    item = item_factory("ሜይ", script="Ethiopic")
    assert not score_script(item, "The answer is ሜይ.").correct
