"""Long-context slice: key-value retrieval from a haystack of `key:value` lines.

Stratum params: `len` (haystack size in characters, ~= tokens of the embedded model's
character-level vocabulary), `depth` (relative position of the needle, 0..1), and
optionally `key_len` (letters per key, default 4; the embedded model's training uses
shorter keys too, as a curriculum).
Each haystack is one cluster: `questions` needles at different keys are asked about it,
the first at the requested depth, the rest at random depths.
"""

from __future__ import annotations

from random import Random
from typing import Any

from evalcliff.suites.generators import Param, Sample

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
LINE_CHARS = 9  # "abcd:123\n"


# What a suite may set (checked at load) and the scorers these items support.
PARAMS: dict[str, Param] = {
    "len": Param("int", required=True, lo=16, hi=1 << 20),
    "depth": Param("float", required=True, lo=0.0, hi=1.0),
    "questions": Param("int", lo=1, hi=64),
    "key_len": Param("int", lo=1, hi=8),
}
SCORERS = ("exact", "contains")


def _haystack(rng: Random, n_pairs: int, key_len: int = 4) -> list[tuple[str, str]]:
    keys: set[str] = set()
    while len(keys) < n_pairs:
        keys.add("".join(rng.choice(KEY_ALPHABET) for _ in range(key_len)))
    ordered = sorted(keys)
    rng.shuffle(ordered)
    return [(k, f"{rng.randrange(1000):03d}") for k in ordered]


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    length = int(params["len"])
    depth = float(params["depth"])
    questions = int(params.get("questions", 2))
    key_len = int(params.get("key_len", 4))
    if not 1 <= key_len <= 8:
        raise ValueError(f"key_len must be 1..8, got {key_len}")
    line_chars = LINE_CHARS - 4 + key_len
    # at most half the possible keys, so drawing distinct keys stays quick
    n_pairs = min(max(2, length // line_chars), len(KEY_ALPHABET) ** key_len // 2)
    pairs = _haystack(rng, n_pairs, key_len)
    context = "".join(f"{k}:{v}\n" for k, v in pairs)
    first = min(n_pairs - 1, round(depth * (n_pairs - 1)))
    others = [i for i in range(n_pairs) if i != first]
    picks = [first] + rng.sample(others, min(questions - 1, len(others)))
    samples = []
    for pos in picks:
        key, value = pairs[pos]
        samples.append(
            Sample(
                prompt=f"{context}find {key} =",
                target=value,
                completion=value,
                meta={"needle_index": pos, "n_pairs": n_pairs},
            )
        )
    return samples
