"""Long-context slice for real models: RULER-style retrieval and tracking in a haystack.

Stratum params:
- `task`: `single` (one needle: a key and its 7-digit magic number), `multikey` (the needle
  among `distractors` needles with other keys, half of them sharing a word with it),
  `multivalue` (`values` needles for the same key; all must be recalled), `vartrack`
  (variable tracking: a chain of `hops` assignments `VAR B = VAR A` from one value, plus a
  distractor chain; name every variable holding the value).
- `len`: the prompt budget in tokens (`4k` = 4096, up to `128k`): the whole prompt measures at
  most `len - headroom` (param `headroom`, default 128, leaves room for the answer and a chat
  template) and within about one filler sentence of it. Lengths are counted by
  `evalcliff.suites.lengths.length_meter(params["tokenizer"])`: the target model's tokenizer
  when given, else the chars/4 estimate; the unit and the measured length are in each item's
  `meta` (`length_unit`, `n_tokens`).
- `depth`: where the (first) needle sits, as a fraction of the filler sentences before it.

Each haystack is its own cluster (one question). The filler is English prose about real places
from CLDR (see `haystack`), with no digits in it.
"""

from __future__ import annotations

import string
from random import Random
from typing import Any

from evalcliff.suites.generators import Param, Sample
from evalcliff.suites.generators.haystack import fit_haystack
from evalcliff.suites.lengths import length_meter, parse_length

MAX_LEN = 128 * 1024
_ADJECTIVES_TEXT = (
    "amber quiet brave calm clever crimson distant eager fancy gentle golden hollow humble "
    "icy jolly kind lively lucky misty noble polite proud rapid rustic silent silver sleepy "
    "sturdy sunny swift tidy velvet vivid wandering wild windy witty young"
)
ADJECTIVES = _ADJECTIVES_TEXT.split()
_NOUNS_TEXT = (
    "anchor badger beacon bridge canyon castle cedar comet compass dolphin falcon garden "
    "glacier harbor island kettle lantern meadow mirror orchard otter pebble pepper quarry "
    "raven river saddle spruce thistle tiger tower valley walnut willow winter zephyr"
)
NOUNS = _NOUNS_TEXT.split()
NIAH_HEADER = (
    "Some special magic numbers are hidden within the following text. Make sure to memorize "
    "them. I will quiz you about the numbers afterwards.\n\n"
)
VT_HEADER = (
    "Memorize and track the chains of variable assignments hidden in the following text.\n\n"
)


# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {
    "task": Param("str", required=True, choices=("single", "multikey", "multivalue", "vartrack")),
    "len": Param("length", required=True, lo=256, hi=MAX_LEN),
    "depth": Param("float", required=True, lo=0.0, hi=1.0),
    "headroom": Param("int", lo=0, hi=8192),
    "distractors": Param("int", lo=1, hi=64),
    "values": Param("int", lo=1, hi=64),
    "hops": Param("int", lo=1, hi=64),
    "tokenizer": Param("str"),
}
SCORERS = ("contains", "exact")


def _key(rng: Random, share: str | None = None) -> str:
    adj = share if share is not None else rng.choice(ADJECTIVES)
    return f"{adj}-{rng.choice(NOUNS)}"


def _magic(rng: Random) -> str:
    return str(rng.randrange(1_000_000, 10_000_000))


def _needle(key: str, value: str) -> str:
    return f"One of the special magic numbers for {key} is: {value}."


def _niah(rng: Random, task: str, depth: float, params: dict[str, Any]) -> dict[str, Any]:
    key = _key(rng)
    if task == "multivalue":
        values = list(dict.fromkeys(_magic(rng) for _ in range(int(params.get("values", 4)))))
        placed = [(depth, _needle(key, values[0]))]
        placed += [(rng.random(), _needle(key, v)) for v in values[1:]]
        question = f"What are all the special magic numbers for {key} mentioned in the text?"
        return {"placed": placed, "question": question, "answers": values, "form": "numbers"}
    value = _magic(rng)
    placed = [(depth, _needle(key, value))]
    if task == "multikey":
        keys = {key}
        while len(keys) < 1 + int(params.get("distractors", 3)):
            keys.add(_key(rng, share=key.split("-")[0] if len(keys) % 2 else None))
        placed += [(rng.random(), _needle(k, _magic(rng))) for k in sorted(keys - {key})]
    question = f"What is the special magic number for {key} mentioned in the text?"
    return {"placed": placed, "question": question, "answers": [value], "form": "number"}


def _chain(names: list[str], value: str, positions: list[float]) -> list[Any]:
    lines = [f"VAR {names[0]} = {value}."]
    lines += [f"VAR {b} = VAR {a}." for a, b in zip(names, names[1:], strict=False)]
    return list(zip(positions, lines, strict=True))


def _vartrack(rng: Random, depth: float, params: dict[str, Any]) -> dict[str, Any]:
    hops = int(params.get("hops", 4))
    names: set[str] = set()
    while len(names) < 2 * (hops + 1):
        names.add("".join(rng.choice(string.ascii_uppercase) for _ in range(5)))
    ordered = sorted(names)
    rng.shuffle(ordered)
    mine, other = ordered[: hops + 1], ordered[hops + 1 :]
    value, decoy = _magic(rng)[:5], _magic(rng)[:5]
    while decoy == value:
        decoy = _magic(rng)[:5]
    here = [depth] + sorted(depth + (1 - depth) * rng.random() for _ in range(hops))
    placed = _chain(mine, value, here)
    placed += _chain(other, decoy, sorted(rng.random() for _ in range(hops + 1)))
    question = f"Find all variables that are assigned the value {value} in the text above."
    return {"placed": placed, "question": question, "answers": mine, "form": "variable names"}


def _assemble(header: str, placed: list[tuple[float, str]], tail: str, filler: list[str]) -> str:
    slots: list[list[str]] = [[] for _ in range(len(filler) + 1)]
    for frac, sentence in placed:
        slots[min(len(filler), round(frac * len(filler)))].append(sentence)
    parts: list[str] = []
    for i in range(len(filler) + 1):
        parts.extend(slots[i])
        if i < len(filler):
            parts.append(filler[i])
    return header + " ".join(parts) + tail


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    task = str(params["task"])
    length = parse_length(params["len"])
    depth = float(params["depth"])
    if not 0.0 <= depth <= 1.0:
        raise ValueError(f"ruler: depth {depth} is not in [0, 1]")
    if length > MAX_LEN:
        raise ValueError(f"ruler: len {params['len']} is over the 128k maximum")
    if task in ("single", "multikey", "multivalue"):
        spec, header = _niah(rng, task, depth, params), NIAH_HEADER
    elif task == "vartrack":
        spec, header = _vartrack(rng, depth, params), VT_HEADER
    else:
        raise ValueError(f"ruler: unknown task {task!r}")
    tail = f"\n\nQuestion: {spec['question']} Answer with the {spec['form']} only.\nAnswer:"
    meter = length_meter(params.get("tokenizer"))
    budget = length - int(params.get("headroom", 128))
    prompt, filler, n_tokens = fit_haystack(
        rng, meter, budget, lambda f: _assemble(header, spec["placed"], tail, f)
    )
    answers: list[str] = spec["answers"]
    pattern = r"\b[A-Z]{5}\b" if task == "vartrack" else r"\d{7}"
    return [
        Sample(
            prompt=prompt,
            target=", ".join(answers),
            completion=" " + ", ".join(answers),
            meta={
                "answers": answers,
                "answer_pattern": pattern,
                "ignore_case": task != "vartrack",
                "task": task,
                "n_tokens": n_tokens,
                "length_unit": meter.unit,
                "n_filler": len(filler),
            },
        )
    ]
