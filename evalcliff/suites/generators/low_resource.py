"""Low-resource slice: write a number in a locale's native digits.

The native numbering system of each locale comes from CLDR (via `babel`), the digit
characters from the Unicode database (`unicodedata`). Stratum param `lang` is a CLDR
locale id; the scorer checks the answer and its *script fidelity*.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from random import Random
from typing import Any

from evalcliff.suites.generators import Param, Sample

# CLDR numbering-system id -> (Unicode digit-name prefix, script name for the scorer)
NUMBERING_SYSTEMS: dict[str, tuple[str, str]] = {
    "latn": ("DIGIT", "Latin"),
    "arab": ("ARABIC-INDIC DIGIT", "Arabic"),
    "arabext": ("EXTENDED ARABIC-INDIC DIGIT", "Arabic"),
    "deva": ("DEVANAGARI DIGIT", "Devanagari"),
    "beng": ("BENGALI DIGIT", "Bengali"),
    "thai": ("THAI DIGIT", "Thai"),
    "khmr": ("KHMER DIGIT", "Khmer"),
    "laoo": ("LAO DIGIT", "Lao"),
    "mymr": ("MYANMAR DIGIT", "Myanmar"),
    "tibt": ("TIBETAN DIGIT", "Tibetan"),
    "telu": ("TELUGU DIGIT", "Telugu"),
    "tamldec": ("TAMIL DIGIT", "Tamil"),
    "gujr": ("GUJARATI DIGIT", "Gujarati"),
    "guru": ("GURMUKHI DIGIT", "Gurmukhi"),
    "knda": ("KANNADA DIGIT", "Kannada"),
    "mlym": ("MALAYALAM DIGIT", "Malayalam"),
    "orya": ("ORIYA DIGIT", "Oriya"),
}
NAMES = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]


@cache
def native_digits(lang: str) -> tuple[str, str]:
    """(ten digit characters 0-9, script name) of the CLDR locale's native numbering system."""
    from babel import Locale

    if lang == "en":
        system = "latn"
    else:
        system = dict(Locale.parse(lang).other_numbering_systems).get("native", "latn")
    if system not in NUMBERING_SYSTEMS:
        raise ValueError(f"low_resource: locale {lang!r} uses numbering system {system!r}")
    prefix, script = NUMBERING_SYSTEMS[system]
    digits = "".join(unicodedata.lookup(f"{prefix} {n}") for n in NAMES)
    return digits, script


# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {
    "lang": Param("str", required=True, check=lambda lang: native_digits(str(lang))),
    "min_digits": Param("int", lo=1, hi=18),
    "max_digits": Param("int", lo=1, hi=18),
}
SCORERS = ("script", "exact", "contains")


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    lang = str(params["lang"])
    digits, script = native_digits(lang)
    n_digits = rng.randint(int(params.get("min_digits", 3)), int(params.get("max_digits", 6)))
    number = str(rng.randrange(10 ** (n_digits - 1), 10**n_digits))
    answer = "".join(digits[int(d)] for d in number)
    return [
        Sample(
            prompt=f"num {lang} {number} =",
            target=answer,
            completion=answer,
            meta={"script": script, "lang": lang},
        )
    ]
