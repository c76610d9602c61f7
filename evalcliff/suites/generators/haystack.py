"""Haystack filler for the long-context slice: English sentences built from CLDR facts.

Nothing is downloaded: the facts come from the CLDR data inside `babel` (territory names,
the languages spoken in each territory, their scripts, currencies, and cities from the time
zone database), so the filler reads as plain English prose about real places. Filler
sentences hold no digits, so they can never be mistaken for a needle's value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from random import Random

from evalcliff.suites.generators import cldr
from evalcliff.suites.lengths import LengthMeter


@dataclass(frozen=True)
class Territory:
    """What CLDR says about one territory, in English."""

    name: str
    languages: tuple[tuple[str, str], ...]  # (language name, script name)
    currencies: tuple[str, ...]
    cities: tuple[str, ...]


def _digit_free(text: str) -> bool:
    return not any(ch.isdigit() for ch in text)


@cache
def territories() -> tuple[Territory, ...]:
    """Territories (two-letter codes) with at least one named language, currency and city."""
    from babel.core import get_global

    names = cldr.lookup("en", "territories")
    langs = cldr.lookup("en", "languages")
    scripts = cldr.lookup("en", "scripts")
    zones = cldr.lookup("en", "time_zones")
    likely: Mapping[str, str] = get_global("likely_subtags")
    spoken: Mapping[str, Mapping[str, object]] = get_global("territory_languages")
    # (currency code, start date, end date or None, legal tender): no end date = current,
    # independent of today's date so builds stay deterministic.
    currencies: Mapping[str, list[tuple[str, object, object, bool]]] = get_global(
        "territory_currencies"
    )
    cur_names = cldr.lookup("en", "currency_names")
    out = []
    for code in sorted(get_global("territory_zones")):
        if len(code) != 2 or code not in names or code not in spoken:
            continue
        tl = []
        for lang in spoken[code]:
            parts = likely.get(lang, "").split("_")
            script = scripts.get(parts[1]) if len(parts) > 1 else None
            if lang in langs and script:
                tl.append((str(langs[lang]), str(script)))
        cur = []
        for cur_code, _start, end, tender in currencies.get(code, []):
            if end is None and tender and cur_code in cur_names:
                cur.append(str(cur_names[cur_code]))
        cities = []
        for zone in get_global("territory_zones")[code]:
            city = zones.get(zone, {}).get("city") or zone.rsplit("/", 1)[-1].replace("_", " ")
            cities.append(str(city))
        fields = [str(names[code]), *(n for n, _ in tl), *cur, *cities]
        if tl and cur and cities and all(map(_digit_free, fields)):
            out.append(Territory(str(names[code]), tuple(tl), tuple(cur), tuple(cities)))
    return tuple(out)


_TEMPLATES: tuple[Callable[[Random, Territory, Territory], str], ...] = (
    lambda r, t, u: f"{r.choice(t.languages)[0]} is one of the languages spoken in {t.name}.",
    lambda r, t, u: f"People in {t.name} pay for their shopping with the {r.choice(t.currencies)}.",
    lambda r, t, u: "{} is usually written in the {} script.".format(*r.choice(t.languages)),
    lambda r, t, u: f"The city of {r.choice(t.cities)} lies in {t.name}.",
    lambda r, t, u: (
        f"Travellers to {t.name} often learn a few words of {r.choice(t.languages)[0]} "
        "before they arrive."
    ),
    lambda r, t, u: f"The {r.choice(t.currencies)} is the money used in {t.name}.",
    lambda r, t, u: (
        f"A letter posted in {r.choice(t.cities)} can take a while to reach {r.choice(u.cities)}."
    ),
    lambda r, t, u: (
        f"Some families in {t.name} speak {r.choice(t.languages)[0]} at home and "
        f"{r.choice(u.languages)[0]} at work."
    ),
    lambda r, t, u: f"Maps of {t.name} mark {r.choice(t.cities)} with a small dot.",
    lambda r, t, u: (
        f"Visitors from {u.name} to {t.name} change their {r.choice(u.currencies)} into "
        f"the {r.choice(t.currencies)}."
    ),
)


def filler_sentence(rng: Random) -> str:
    """One true English sentence about a random CLDR territory (no digits)."""
    terrs = territories()
    t, u = rng.choice(terrs), rng.choice(terrs)
    return rng.choice(_TEMPLATES)(rng, t, u)


def fit_haystack(
    rng: Random,
    meter: LengthMeter,
    budget: int,
    assemble: Callable[[list[str]], str],
) -> tuple[str, list[str], int]:
    """The longest `assemble(filler)` that `meter` counts at most `budget` long.

    `assemble` places needles among the filler sentences and wraps them in the prompt. Filler
    is drawn from `rng` in batches and added while a running total (each sentence counted with
    its leading space) fits; the prompt is then measured exactly, topped up the same way, and
    measured again, trimming sentences while it is over. The result is at most `budget` long
    and within about two sentences (15-60 tokens) of it; the whole prompt is usually tokenized
    once or twice. Returns (prompt, filler sentences, its measured length).
    """
    filler: list[str] = []
    total = meter.count(assemble(filler))
    if total > budget:
        raise ValueError(f"the prompt without filler is {total} long, over the budget {budget}")
    first, per_sentence = total, 0.0
    for exact_pass in (False, True):
        full = False
        while not full:
            # A probe batch learns the tokens per sentence; later batches cover the gap.
            gap = budget - total
            size = 32 if per_sentence == 0.0 else max(8, int(gap / per_sentence) + 8)
            batch = [filler_sentence(rng) for _ in range(size)]
            for sentence, n in zip(batch, meter.count_many([" " + b for b in batch]), strict=True):
                if total + n > budget:
                    full = True
                    break
                filler.append(sentence)
                total += n
            per_sentence = max(1.0, (total - first) / max(1, len(filler)))
        total = meter.count(assemble(filler))  # exact; the running total drifts with rounding
        if exact_pass or budget - total < 2 * per_sentence:  # close enough, or over
            break
    while total > budget and filler:
        del filler[-max(1, math.ceil((total - budget) / per_sentence)) :]
        total = meter.count(assemble(filler))
    return assemble(filler), filler, total
