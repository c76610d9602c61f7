"""CLDR data (shipped inside `babel`), read so that one locale cannot leak into another.

Why not `babel.Locale(...).months["stand-alone"]`: babel resolves CLDR aliases lazily and
caches the result in dictionaries that locales share with their parent (root), so after one
locale's stand-alone names are read, another locale inheriting the same alias gets the first
locale's names (seen with babel 2.18: French stand-alone months came back in Lao). Here each
locale's data is loaded afresh from babel's pickles, merged over its parents, and aliases are
resolved without writing anything back.
"""

from __future__ import annotations

import pickle
import unicodedata
from collections.abc import Mapping
from functools import cache
from typing import Any

# ISO 15924 script code (from CLDR likely subtags) -> script name used by the scorers.
ISO15924: dict[str, str] = {
    "Latn": "Latin",
    "Ethi": "Ethiopic",
    "Khmr": "Khmer",
    "Laoo": "Lao",
    "Mymr": "Myanmar",
    "Sinh": "Sinhala",
    "Taml": "Tamil",
    "Telu": "Telugu",
    "Geor": "Georgian",
    "Armn": "Armenian",
    "Hans": "Han",
    "Hant": "Han",
    "Beng": "Bengali",
    "Deva": "Devanagari",
    "Orya": "Oriya",
    "Gujr": "Gujarati",
    "Guru": "Gurmukhi",
    "Knda": "Kannada",
    "Mlym": "Malayalam",
    "Thai": "Thai",
    "Tibt": "Tibetan",
    "Arab": "Arabic",
    "Cyrl": "Cyrillic",
    "Grek": "Greek",
    "Hebr": "Hebrew",
}

# CLDR numbering system -> the Unicode name prefix of its digits (0-9 in order).
_DIGIT_NAMES: dict[str, str] = {
    "latn": "DIGIT",
    "arab": "ARABIC-INDIC DIGIT",
    "arabext": "EXTENDED ARABIC-INDIC DIGIT",
    "beng": "BENGALI DIGIT",
    "deva": "DEVANAGARI DIGIT",
    "gujr": "GUJARATI DIGIT",
    "guru": "GURMUKHI DIGIT",
    "khmr": "KHMER DIGIT",
    "knda": "KANNADA DIGIT",
    "laoo": "LAO DIGIT",
    "mlym": "MALAYALAM DIGIT",
    "mymr": "MYANMAR DIGIT",
    "orya": "ORIYA DIGIT",
    "tamldec": "TAMIL DIGIT",
    "telu": "TELUGU DIGIT",
    "thai": "THAI DIGIT",
    "tibt": "TIBETAN DIGIT",
}
_HANIDEC = "\u3007\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d"  # 〇一二三四五六七八九
_NUMBER_NAMES = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")


def _pickle(name: str) -> dict[str, Any]:
    from babel.localedata import resolve_locale_filename

    with open(resolve_locale_filename(name), "rb") as f:
        data: dict[str, Any] = pickle.load(f)  # noqa: S301 - babel's own shipped data
    return data


def _parent(name: str) -> str | None:
    from babel.core import get_global

    if name == "root":
        return None
    exceptions: Mapping[str, str] = get_global("parent_exceptions")
    if name in exceptions:
        return exceptions[name]
    return "_".join(name.split("_")[:-1]) if "_" in name else "root"


@cache
def _locale_data(name: str) -> dict[str, Any]:
    from babel.localedata import merge

    chain: list[str] = []
    cur: str | None = name
    while cur is not None:
        chain.append(cur)
        cur = _parent(cur)
    data: dict[str, Any] = {}
    for part in reversed(chain):
        merge(data, _pickle(part))  # merge copies nested dicts: nothing is shared
    return data


def lookup(locale: str, *keys: Any) -> Any:
    """The CLDR value at `keys` for `locale` (e.g. `"months", "stand-alone", "wide"`), with
    aliases resolved against that locale's own data. Raises KeyError when absent."""
    from babel.localedata import Alias, merge

    data = _locale_data(locale)
    node: Any = data
    for key in keys:
        node = node[key]
        if isinstance(node, Alias):
            node = node.resolve(data)  # type: ignore[arg-type]
        elif isinstance(node, tuple) and len(node) == 2 and isinstance(node[0], Alias):
            alias, others = node
            node = dict(alias.resolve(data))
            merge(node, others)
    return node


@cache
def month_names(locale: str) -> tuple[str, ...]:
    """The 12 stand-alone wide month names, January first."""
    wide = lookup(locale, "months", "stand-alone", "wide")
    return tuple(str(wide[i]) for i in range(1, 13))


@cache
def day_names(locale: str) -> tuple[str, ...]:
    """The 7 stand-alone wide weekday names, Monday first."""
    wide = lookup(locale, "days", "stand-alone", "wide")
    return tuple(str(wide[i]) for i in range(7))


def language_name(lang: str, in_locale: str = "en") -> str:
    """The name of language `lang` written in `in_locale` (`language_name("am", "am")` is the
    autonym)."""
    return str(lookup(in_locale, "languages", lang))


def locale_script(lang: str) -> str:
    """The script name (as the scorers know it) CLDR's likely subtags give for `lang`."""
    from babel.core import get_global

    likely: Mapping[str, str] = get_global("likely_subtags")
    code = likely.get(lang, "").split("_")[1:2]
    if not code or code[0] not in ISO15924:
        raise ValueError(f"no known script for locale {lang!r} (likely subtags: {code})")
    return ISO15924[code[0]]


def native_numbering(lang: str) -> str:
    """The CLDR id of `lang`'s native numbering system (e.g. `khmr`, `latn`)."""
    return str(lookup(lang, "numbering_systems").get("native", "latn"))


@cache
def digits_of(system: str) -> str:
    """The ten digit characters 0-9 of a CLDR numbering system."""
    if system == "hanidec":
        return _HANIDEC
    if system not in _DIGIT_NAMES:
        raise ValueError(f"numbering system {system!r} has no digit table here")
    prefix = _DIGIT_NAMES[system]
    return "".join(unicodedata.lookup(f"{prefix} {n}") for n in _NUMBER_NAMES)
