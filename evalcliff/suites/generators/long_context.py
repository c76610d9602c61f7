"""Long-context slice: key-value retrieval from a haystack of `key:value` lines.

Stratum params: `len` (haystack size in characters, ~= tokens of the embedded model's
character-level vocabulary), `depth` (relative position of the needle, 0..1).
Each haystack is one cluster: `questions` needles at different keys are asked about it,
the first at the requested depth, the rest at random depths.
"""

from __future__ import annotations

from random import Random
from typing import Any

from evalcliff.suites.generators import Sample

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
LINE_CHARS = 9  # "abcd:123\n"


def _haystack(rng: Random, n_pairs: int) -> list[tuple[str, str]]:
    keys: set[str] = set()
    while len(keys) < n_pairs:
        keys.add("".join(rng.choice(KEY_ALPHABET) for _ in range(4)))
    ordered = sorted(keys)
    rng.shuffle(ordered)
    return [(k, f"{rng.randrange(1000):03d}") for k in ordered]


def generate(rng: Random, params: dict[str, Any]) -> list[Sample]:
    length = int(params["len"])
    depth = float(params["depth"])
    questions = int(params.get("questions", 2))
    n_pairs = max(2, length // LINE_CHARS)
    pairs = _haystack(rng, n_pairs)
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
