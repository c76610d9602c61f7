"""Low-resource slice for real models: calendar arithmetic and number transcription.

Every answer is real language data shipped in packages: month and weekday names, scripts and
native numbering systems from CLDR (via `babel`, read with `cldr`), number words from
`num2words`. The instructions are in English; the answer must be written in the language.

Stratum params: `lang` (a CLDR language id) and `task`:
- `month_add`: the month `k` (1-23) months after a given month, both named in the language;
- `weekday_add`: the weekday `k` (1-20) days after a given weekday;
- `digits`: a 3-7 digit number written with the language's native digits (only for languages
  whose CLDR native numbering system is not Latin, e.g. km, lo, my, ta, te, zh);
- `number_words`: a number 11-99 spelled out in words (languages `num2words` supports; larger
  numbers are left out because num2words 0.5.14 fails on Amharic 1100-9999 and spells some
  Telugu hundreds unidiomatically, e.g. 100 as "ఒకటి వంద", "one hundred").

`meta["script"]` is the language's script from CLDR likely subtags, and every target is
checked to be written wholly in it (so a locale whose CLDR names fall back to another
script fails loudly instead of yielding items). Scored by `script` with `match: contains`.
"""

from __future__ import annotations

from random import Random
from typing import Any

from evalcliff.suites.generators import Param, Sample
from evalcliff.suites.generators.cldr import (
    day_names,
    digits_of,
    language_name,
    locale_script,
    month_names,
    native_numbering,
)

# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {
    "lang": Param("str", required=True, check=lambda lang: locale_script(str(lang))),
    "task": Param(
        "str", required=True, choices=("month_add", "weekday_add", "digits", "number_words")
    ),
}
SCORERS = ("script", "contains", "exact")


def _named(lang: str) -> str:
    """`Amharic (አማርኛ)`; just `English` when the autonym is the English name."""
    english, own = language_name(lang), language_name(lang, lang)
    return english if own.casefold() == english.casefold() else f"{english} ({own})"


def _check_script(text: str, script: str, lang: str) -> None:
    from evalcliff.scoring.script import script_fidelity

    fidelity = script_fidelity(text, script)
    if fidelity is not None and fidelity < 1.0:
        raise ValueError(f"low_resource: {lang} answer {text!r} is not all in {script} script")


def _calendar(rng: Random, lang: str, task: str) -> tuple[str, str]:
    english = language_name(lang)
    if task == "month_add":
        names, unit, span = month_names(lang), "month", 23
    else:
        names, unit, span = day_names(lang), "day", 20
    start, k = rng.randrange(len(names)), rng.randint(1, span)
    what = "month" if unit == "month" else "day of the week"
    plural = "" if k == 1 else "s"
    prompt = (
        f"Answer in {_named(lang)}, naming the {what} in {english}.\n"
        f"Question: Which {what} is {k} {unit}{plural} after {names[start]}?\n"
        f"Answer with the name only.\nAnswer:"
    )
    return prompt, names[(start + k) % len(names)]


def _digits(rng: Random, lang: str) -> tuple[str, str]:
    system = native_numbering(lang)
    if system == "latn":
        raise ValueError(f"low_resource: {lang} writes Latin digits natively; no `digits` task")
    digits = digits_of(system)
    number = str(rng.randrange(10 ** rng.randint(2, 6), 10**7))
    english = language_name(lang)
    prompt = (
        f"Write the number {number} using the traditional {english} digits "
        f"({digits[1]}, {digits[2]}, {digits[3]}, ...), with no separators.\nAnswer:"
    )
    return prompt, "".join(digits[int(d)] for d in number)


def _words(rng: Random, lang: str) -> tuple[str, str]:
    from num2words import num2words

    number = rng.randint(11, 99)
    try:
        words = str(num2words(number, lang=lang))
    except NotImplementedError:
        raise ValueError(f"low_resource: num2words has no language {lang!r}") from None
    prompt = f"Write the number {number} in words in {_named(lang)}.\nAnswer:"
    return prompt, words


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    lang, task = str(params["lang"]), str(params["task"])
    if task in ("month_add", "weekday_add"):
        prompt, answer = _calendar(rng, lang, task)
    elif task == "digits":
        prompt, answer = _digits(rng, lang)
    elif task == "number_words":
        prompt, answer = _words(rng, lang)
    else:
        raise ValueError(f"low_resource: unknown task {task!r}")
    script = locale_script(lang)
    _check_script(answer, script, lang)
    return [
        Sample(
            prompt=prompt,
            target=answer,
            completion=" " + answer,
            meta={"script": script, "lang": lang, "task": task, "match": "contains"},
        )
    ]
