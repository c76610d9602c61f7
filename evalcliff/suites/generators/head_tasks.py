"""Head slice for real models: short, common questions (the median a usual eval measures).

Stratum param `task`:
- `arith`: sum or difference of two numbers below 100;
- `weekday`: the English weekday after or before a given one (CLDR names);
- `month`: the English month after or before a given one (CLDR names);
- `translate`: the French name of an English month or weekday (CLDR names);
- `first_letter`: the first letter of a common English word;
- `count_words`: how many words a short sentence has.
Each answer is one word or number, scored by `contains` (whole word, case-insensitive).
"""

from __future__ import annotations

from random import Random
from typing import Any

from evalcliff.suites.generators import Param, Sample
from evalcliff.suites.generators.cldr import day_names, month_names

_WORDS_TEXT = (
    "apple bread chair dance eagle fable garden honey island jacket kitten lemon mountain "
    "number orange pencil quiet river summer table umbrella village window yellow zebra "
    "basket candle doctor engine forest guitar hammer insect jungle ladder market needle "
    "ocean planet rabbit silver teacher valley winter"
)
WORDS = _WORDS_TEXT.split()
NOUN_PHRASES = ("the cat", "my sister", "a young farmer", "the old train", "our teacher")
VERB_PHRASES = ("sat on the mat", "walked to the market", "sang a song", "left early", "won")
TAILS = ("", " yesterday", " after lunch", " in the rain", " with great care")


# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {
    "task": Param(
        "str",
        required=True,
        choices=("arith", "weekday", "month", "translate", "first_letter", "count_words"),
    ),
}
SCORERS = ("contains", "exact")


def _cyclic(rng: Random, names: tuple[str, ...], what: str) -> tuple[str, str]:
    i = rng.randrange(len(names))
    if rng.random() < 0.5:
        return f"Which {what} comes right after {names[i]}?", names[(i + 1) % len(names)]
    return f"Which {what} comes right before {names[i]}?", names[i - 1]


def _question(rng: Random, task: str) -> tuple[str, str]:
    if task == "arith":
        a, b = rng.randrange(10, 100), rng.randrange(10, 100)
        if rng.random() < 0.5:
            return f"What is {a} + {b}?", str(a + b)
        a, b = max(a, b), min(a, b)
        return f"What is {a} - {b}?", str(a - b)
    if task == "weekday":
        return _cyclic(rng, day_names("en"), "day of the week")
    if task == "month":
        return _cyclic(rng, month_names("en"), "month")
    if task == "translate":
        if rng.random() < 0.5:
            i = rng.randrange(12)
            return f"What is the French name of the month {month_names('en')[i]}?", month_names(
                "fr"
            )[i]
        i = rng.randrange(7)
        return f"What is the French name of the weekday {day_names('en')[i]}?", day_names("fr")[i]
    if task == "first_letter":
        word = rng.choice(WORDS)
        return f'What is the first letter of the word "{word}"?', word[0]
    if task == "count_words":
        sentence = rng.choice(NOUN_PHRASES) + " " + rng.choice(VERB_PHRASES) + rng.choice(TAILS)
        return f'How many words are in the sentence "{sentence}"?', str(len(sentence.split()))
    raise ValueError(f"head_tasks: unknown task {task!r}")


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    question, answer = _question(rng, str(params["task"]))
    prompt = f"Question: {question} Answer with one word or number.\nAnswer:"
    return [Sample(prompt=prompt, target=answer, completion=" " + answer, meta={})]
