"""Which writing system a character belongs to, from Unicode block ranges.

A small, dependency-free approximation of Unicode's Scripts.txt: each block below is
assigned to one script. Characters outside every listed block are "Common" when they are
not letters (digits 0-9, punctuation, symbols, spaces, fullwidth digits) and "Unknown"
otherwise (a letter of a script not listed here). Known simplifications: the Katakana-Hiragana
prolonged sound mark (U+30FC) counts as Katakana and the Arabic tatweel (U+0640) as Arabic,
where Scripts.txt says Common.
"""

from __future__ import annotations

import bisect
import unicodedata

COMMON = "Common"
UNKNOWN = "Unknown"

# (first, last, script), inclusive, sorted by `first`, non-overlapping.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latin"),
    (0x0061, 0x007A, "Latin"),
    (0x00AA, 0x00AA, "Latin"),
    (0x00BA, 0x00BA, "Latin"),
    (0x00C0, 0x00D6, "Latin"),
    (0x00D8, 0x00F6, "Latin"),
    (0x00F8, 0x02AF, "Latin"),
    (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"),
    (0x0530, 0x058F, "Armenian"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"),
    (0x0870, 0x08FF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"),
    (0x0A00, 0x0A7F, "Gurmukhi"),
    (0x0A80, 0x0AFF, "Gujarati"),
    (0x0B00, 0x0B7F, "Oriya"),
    (0x0B80, 0x0BFF, "Tamil"),
    (0x0C00, 0x0C7F, "Telugu"),
    (0x0C80, 0x0CFF, "Kannada"),
    (0x0D00, 0x0D7F, "Malayalam"),
    (0x0D80, 0x0DFF, "Sinhala"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Lao"),
    (0x0F00, 0x0FFF, "Tibetan"),
    (0x1000, 0x109F, "Myanmar"),
    (0x10A0, 0x10FF, "Georgian"),
    (0x1100, 0x11FF, "Hangul"),
    (0x1200, 0x139F, "Ethiopic"),
    (0x1780, 0x17FF, "Khmer"),
    (0x1800, 0x18AF, "Mongolian"),
    (0x19E0, 0x19FF, "Khmer"),
    (0x1C80, 0x1C8F, "Cyrillic"),
    (0x1C90, 0x1CBF, "Georgian"),
    (0x1D00, 0x1D7F, "Latin"),
    (0x1E00, 0x1EFF, "Latin"),
    (0x1F00, 0x1FFF, "Greek"),
    (0x2160, 0x2188, "Latin"),  # Roman numerals
    (0x2C60, 0x2C7F, "Latin"),
    (0x2D00, 0x2D2F, "Georgian"),
    (0x2D80, 0x2DDF, "Ethiopic"),
    (0x2DE0, 0x2DFF, "Cyrillic"),
    (0x2E80, 0x2FDF, "Han"),
    (0x3005, 0x3005, "Han"),
    (0x3007, 0x3007, "Han"),
    (0x3021, 0x3029, "Han"),
    (0x3038, 0x303B, "Han"),
    (0x3040, 0x309F, "Hiragana"),
    (0x30A0, 0x30FF, "Katakana"),
    (0x3130, 0x318F, "Hangul"),
    (0x31F0, 0x31FF, "Katakana"),
    (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"),
    (0xA640, 0xA69F, "Cyrillic"),
    (0xA720, 0xA7FF, "Latin"),
    (0xA8E0, 0xA8FF, "Devanagari"),
    (0xA960, 0xA97F, "Hangul"),
    (0xA9E0, 0xA9FF, "Myanmar"),
    (0xAA60, 0xAA7F, "Myanmar"),
    (0xAB00, 0xAB2F, "Ethiopic"),
    (0xAB30, 0xAB6F, "Latin"),
    (0xAC00, 0xD7FF, "Hangul"),
    (0xF900, 0xFAFF, "Han"),
    (0xFB00, 0xFB06, "Latin"),
    (0xFB13, 0xFB17, "Armenian"),
    (0xFB1D, 0xFB4F, "Hebrew"),
    (0xFB50, 0xFDFF, "Arabic"),
    (0xFE70, 0xFEFF, "Arabic"),
    (0xFF21, 0xFF3A, "Latin"),
    (0xFF41, 0xFF5A, "Latin"),
    (0xFF66, 0xFF9D, "Katakana"),
    (0xFFA0, 0xFFDC, "Hangul"),
    (0x111E0, 0x111FF, "Sinhala"),
    (0x11660, 0x1167F, "Mongolian"),
    (0x11B00, 0x11B5F, "Devanagari"),
    (0x11FC0, 0x11FFF, "Tamil"),
    (0x1B000, 0x1B0FF, "Hiragana"),
    (0x1E7E0, 0x1E7FF, "Ethiopic"),
    (0x20000, 0x2FA1F, "Han"),
    (0x30000, 0x323AF, "Han"),
)
_STARTS = [r[0] for r in _RANGES]

SCRIPTS: frozenset[str] = frozenset(r[2] for r in _RANGES) | {COMMON}

# Names a suite may use for a script that is written with several of the above.
SCRIPT_GROUPS: dict[str, frozenset[str]] = {
    "Japanese": frozenset({"Hiragana", "Katakana", "Han"}),
    "Kana": frozenset({"Hiragana", "Katakana"}),
    "Korean": frozenset({"Hangul", "Han"}),
    "Chinese": frozenset({"Han"}),
    "Odia": frozenset({"Oriya"}),
}


def char_script(ch: str) -> str:
    """The script of one character: a name in `SCRIPTS`, or "Unknown" for unlisted letters.

    ASCII digits, punctuation, symbols and whitespace are "Common"; Arabic-Indic and
    Extended Arabic-Indic digits are "Arabic"; Devanagari digits "Devanagari", and so on.
    """
    if len(ch) != 1:
        raise ValueError(f"char_script takes one character, got {ch!r}")
    cp = ord(ch)
    i = bisect.bisect_right(_STARTS, cp) - 1
    if i >= 0 and cp <= _RANGES[i][1]:
        return _RANGES[i][2]
    return UNKNOWN if unicodedata.category(ch).startswith("L") else COMMON


def resolve_script(name: str) -> frozenset[str]:
    """The set of `char_script` names that count as `name` (a script or a group such as
    "Japanese"); matching is case-insensitive. Raises KeyError for an unknown name."""
    known = {s.casefold(): frozenset({s}) for s in SCRIPTS}
    known.update({g.casefold(): members for g, members in SCRIPT_GROUPS.items()})
    return known[name.casefold()]


def known_script_names() -> list[str]:
    """Every name `resolve_script` accepts, sorted."""
    return sorted(SCRIPTS | set(SCRIPT_GROUPS))
