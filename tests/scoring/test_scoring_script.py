from __future__ import annotations

from typing import Any

import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.scoring import char_script, score_script, script_fidelity


@pytest.mark.parametrize(
    ("ch", "script"),
    [
        ("a", "Latin"),
        ("\u00e9", "Latin"),
        ("5", "Common"),
        (".", "Common"),
        (" ", "Common"),
        ("\u0915", "Devanagari"),
        ("\u0967", "Devanagari"),  # KA, DIGIT ONE
        ("\u0e01", "Thai"),
        ("\u0e51", "Thai"),  # KO KAI, THAI DIGIT ONE
        ("\u1780", "Khmer"),
        ("\u17e1", "Khmer"),  # KA, KHMER DIGIT ONE
        ("\u0661", "Arabic"),
        ("\u06f1", "Arabic"),
        ("\u0628", "Arabic"),  # Arabic-Indic digits
        ("\u09e7", "Bengali"),
        ("\u0a67", "Gurmukhi"),
        ("\u0ae7", "Gujarati"),
        ("\u0b67", "Oriya"),
        ("\u0be7", "Tamil"),
        ("\u0c67", "Telugu"),
        ("\u0ce7", "Kannada"),
        ("\u0d67", "Malayalam"),
        ("\u0d9a", "Sinhala"),
        ("\u0ed1", "Lao"),
        ("\u0f21", "Tibetan"),
        ("\u1041", "Myanmar"),
        ("\u10d0", "Georgian"),
        ("\u0561", "Armenian"),
        ("\u1200", "Ethiopic"),
        ("\u1820", "Mongolian"),
        ("\u05d0", "Hebrew"),
        ("\u03b1", "Greek"),
        ("\u0436", "Cyrillic"),
        ("\u4e00", "Han"),
        ("\U00020000", "Han"),
        ("\uac00", "Hangul"),
        ("\u3042", "Hiragana"),
        ("\u30a2", "Katakana"),
        ("\uff11", "Common"),
        ("\u0710", "Unknown"),  # fullwidth digit; Syriac is unlisted
    ],
)
def test_char_script(ch: str, script: str) -> None:
    assert char_script(ch) == script


def test_char_script_rejects_strings() -> None:
    with pytest.raises(ValueError):
        char_script("ab")


def test_fidelity_values() -> None:
    assert script_fidelity("\u0967\u0968\u0969", "Devanagari") == 1.0
    assert script_fidelity("123", "Devanagari") == 0.0
    assert script_fidelity("123 abc", "Latin") == 1.0  # ASCII digits are fine for Latin
    assert script_fidelity("...  !", "Thai") is None
    # 3 Devanagari letters + 1 Latin letter: 3/4
    assert script_fidelity("\u0915\u0916\u0917 x", "Devanagari") == pytest.approx(0.75)
    assert script_fidelity("\u65e5\u672c\u3054", "Japanese") == 1.0
    assert script_fidelity("\u0e01", "thai") == 1.0  # names are case-insensitive


def test_fidelity_unknown_script() -> None:
    with pytest.raises(EvalcliffError, match="unknown script 'Klingon'"):
        script_fidelity("abc", "Klingon")


def test_script_correct_devanagari_digits(item_factory: Any) -> None:
    item = item_factory("\u0967\u0968\u0969", script="Devanagari")  # १२३
    s = score_script(item, "  \u0967\u0968\u0969\n")
    assert (s.score, s.correct, s.catastrophic) == (1.0, True, False)
    assert s.detail == "script fidelity 100% Devanagari"


def test_script_ascii_digit_drift_is_catastrophic(item_factory: Any) -> None:
    item = item_factory("\u0967\u0968\u0969", script="Devanagari")
    s = score_script(item, "123")
    assert (s.score, s.correct, s.catastrophic) == (0.0, False, True)
    assert s.detail is not None and s.detail.startswith("script drift: Common 100%")
    assert "(Devanagari 0%)" in s.detail


def test_script_mixed_script(item_factory: Any) -> None:
    item = item_factory("\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35", script="Thai")  # สวัสดี
    # 4 Thai letters (vowel signs are marks, not counted) + 5 Latin letters: 4/9 < 0.5
    s = score_script(item, "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 hello")
    assert s.correct is False and s.catastrophic is True
    assert s.detail is not None and "Latin 56%" in s.detail


def test_script_nfc(item_factory: Any) -> None:
    item = item_factory("\u00e9t\u00e9", script="Latin")
    assert score_script(item, "e\u0301te\u0301").correct


def test_script_empty_output(item_factory: Any) -> None:
    s = score_script(item_factory("\u1780", script="Khmer"), "")
    assert (s.correct, s.catastrophic, s.detail) == (False, False, "no letters or digits in output")


def test_script_missing_meta(item_factory: Any) -> None:
    with pytest.raises(EvalcliffError, match="meta\\['script'\\]"):
        score_script(item_factory("x"), "x")
