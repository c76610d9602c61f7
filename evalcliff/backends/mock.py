"""A deterministic mock backend: answers from the items' gold targets, with errors.

Each item is answered wrongly when a hash of (seed, prompt) falls below `error_rate`,
so two mock variants with different seeds flip different items. It runs through lm-eval
like any backend, which makes runner and CLI tests fast and model-free.
"""

from __future__ import annotations

import hashlib
from typing import Any

from lm_eval.api.model import LM

from evalcliff.config.variants import MockVariant, VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.suites.items import Item


def _unit(seed: int, text: str) -> float:
    digest = hashlib.sha256(f"{seed}|{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class MockLM(LM):  # type: ignore[misc]
    """Returns the gold completion, or a corrupted one for an `error_rate` share of prompts."""

    def __init__(self, answers: dict[str, str], error_rate: float, seed: int) -> None:
        super().__init__()
        self.answers, self.error_rate, self.seed = answers, error_rate, seed

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        out = []
        for req in requests:
            context, _gen = req.args
            gold = self.answers.get(context)
            if gold is None:  # chat-wrapped: find the user turn's prompt
                user = context.split("<user>", 1)[-1].split("</user>", 1)[0]
                gold = self.answers.get(user)
            if gold is None:  # a prompt the mock was not given (e.g. an lm-eval task)
                out.append(" wrong")
                self.cache_hook.add_partial("generate_until", req.args, " wrong")
                continue
            text = " " + gold if _unit(self.seed, context) >= self.error_rate else " wrong"
            out.append(text)
            self.cache_hook.add_partial("generate_until", req.args, text)
        return out

    @property
    def tokenizer_name(self) -> str:
        return "mock"

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return "mock-chat" if chat_template else ""

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        """A fixed toy template: `<role>content</role>` per message, then `<assistant>`."""
        text = "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in chat_history)
        return text + ("<assistant>" if add_generation_prompt else "")

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise NotImplementedError("the mock backend only generates")

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise NotImplementedError("the mock backend only generates")


def make_lm(variant: VariantConfig, items: list[Item]) -> tuple[Any, dict[str, Any]]:
    """A MockLM that knows every item's gold completion."""
    if not isinstance(variant, MockVariant):
        raise EvalcliffError(f"backend 'mock' cannot run a {variant.backend!r} variant")
    answers = {it.prompt: str(it.meta.get("completion", it.target)) for it in items}
    lm = MockLM(answers, variant.error_rate, variant.seed)
    return lm, {"mock": True, "error_rate": variant.error_rate, "seed": variant.seed}
