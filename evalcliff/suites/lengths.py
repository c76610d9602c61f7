"""How long a prompt is: in the target model's tokens when its tokenizer is at hand.

`length_meter(None)` is the fallback used when no tokenizer is given: it counts
`ceil(len(text) / 4)` "tokens" (characters / 4, rounded up): a rule of thumb for English text
under common BPE tokenizers, which a given model's true count can miss by tens of percent; a
model with a hard context limit should be given its tokenizer. `length_meter(PATH_OR_NAME)`
loads a Hugging Face tokenizer with
`AutoTokenizer.from_pretrained(PATH_OR_NAME, local_files_only=True)` (a local directory, or a
name already in the local Hugging Face cache: nothing is downloaded) and counts its tokens,
without special tokens. Each meter has a `unit` string recorded in item metadata.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from evalcliff.errors import EvalcliffError

CHARS_PER_TOKEN = 4
FALLBACK_UNIT = "chars/4"


@dataclass(frozen=True)
class LengthMeter:
    """`count(text)` -> length in `unit`s (tokens of a tokenizer, or the chars/4 estimate);
    `count_many(texts)` -> the same for many texts at once (batched for a tokenizer)."""

    unit: str
    count: Callable[[str], int]
    count_many: Callable[[list[str]], list[int]]

    @property
    def exact(self) -> bool:
        """True when lengths are measured with a real tokenizer, not estimated."""
        return self.unit != FALLBACK_UNIT


def _estimate(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@cache
def length_meter(tokenizer: str | None = None) -> LengthMeter:
    """A meter counting tokens of `tokenizer` (local HF tokenizer dir or cached name), or the
    chars/4 estimate when `tokenizer` is None. Raises EvalcliffError when it cannot be loaded."""
    if tokenizer is None:
        return LengthMeter(FALLBACK_UNIT, _estimate, lambda texts: [_estimate(t) for t in texts])
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    except Exception as exc:  # transformers raises OSError, ValueError, ... by case
        raise EvalcliffError(
            f"tokenizer {tokenizer!r} could not be loaded offline "
            f"({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "pass a local tokenizer directory, or omit it to use the chars/4 estimate"
        ) from None

    backend = getattr(tok, "backend_tokenizer", None)  # a fast tokenizer's Rust core
    if backend is not None:

        def count(text: str) -> int:
            return len(backend.encode(text, add_special_tokens=False).ids)

        def count_many(texts: list[str]) -> list[int]:
            return [len(e.ids) for e in backend.encode_batch(texts, add_special_tokens=False)]

    else:

        def count(text: str) -> int:
            return len(tok(text, add_special_tokens=False)["input_ids"])

        def count_many(texts: list[str]) -> list[int]:
            return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]

    return LengthMeter(f"tokens:{tokenizer}", count, count_many)


def parse_length(value: object) -> int:
    """A length bucket in tokens: an int, or a string like `4k` (k = 1024: `32k` = 32768)."""
    text = str(value).strip().lower()
    try:
        if text.endswith("k"):
            return int(float(text[:-1]) * 1024)
        return int(text)
    except ValueError:
        raise ValueError(f"not a length: {value!r} (use e.g. 4096 or 4k)") from None
