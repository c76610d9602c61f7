"""Backends: how a variant's model is loaded and asked for completions.

`BACKENDS` maps a backend name to the import path of its `make_lm(variant, items)`
factory, which returns an lm-eval `LM` plus the model identity for the run header.
Heavy dependencies (torch, transformers) are imported only by the backend in use.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from evalcliff.config.variants import VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.suites.items import Item

BACKENDS: dict[str, str] = {
    "hf": "evalcliff.backends.hf",
    "mock": "evalcliff.backends.mock",
    "openai": "evalcliff.backends.openai_compat",
    "vllm": "evalcliff.backends.vllm",
    # llamacpp variants are served (evalcliff.serve) and then run as "openai"
}


class BackendFactory(Protocol):
    def __call__(self, variant: VariantConfig, items: list[Item]) -> tuple[Any, dict[str, Any]]: ...


def make_lm(variant: VariantConfig, items: list[Item]) -> tuple[Any, dict[str, Any]]:
    """(lm-eval LM, model identity dict) for `variant`."""
    if variant.backend == "llamacpp":
        raise EvalcliffError("backend 'llamacpp' runs through evalcliff.serve.served()")
    if variant.backend not in BACKENDS:
        raise EvalcliffError(f"unknown backend {variant.backend!r}; known: {sorted(BACKENDS)}")
    module = importlib.import_module(BACKENDS[variant.backend])
    factory: BackendFactory = module.make_lm
    return factory(variant, items)
