"""Hugging Face transformers, in-process on the CPU: lm-eval's `HFLM`.

The embedded model's quantized variants are materialised (and cached) on demand, then
loaded like any checkpoint. Greedy decoding with batch size 1 by default, so a resumed
run computes every item with the same shapes as an uninterrupted one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from evalcliff.config.variants import VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.paths import cache_dir
from evalcliff.suites.items import Item


def checkpoint_dir(variant: VariantConfig) -> tuple[Path, dict[str, Any]]:
    """The directory to load and the model identity (path, source hash, quantization)."""
    from evalcliff.embedded import MODEL_DIR
    from evalcliff.embedded.variants import QuantSpec, materialize_variant, source_weights_hash

    src = MODEL_DIR if variant.model == "embedded" else Path(variant.model)
    if not (src / "config.json").exists():
        raise EvalcliffError(f"{src}: not a Hugging Face checkpoint (no config.json)")
    identity: dict[str, Any] = {"path": str(src), "embedded": variant.model == "embedded"}
    if variant.quantization is None:
        return src, identity
    if not (src / "model.safetensors").exists():
        raise EvalcliffError(f"{src}: quantization needs a single model.safetensors file")
    spec = QuantSpec(**variant.quantization.model_dump())
    out = materialize_variant(src, spec, cache_dir() / "variants")
    identity.update(
        source_sha256=source_weights_hash(src),
        quantization=spec.model_dump(),
        materialized=str(out),
    )
    return out, identity


def make_lm(variant: VariantConfig, items: list[Item]) -> tuple[Any, dict[str, Any]]:
    """lm-eval's HFLM over the variant's checkpoint, on the CPU."""
    threads = variant.threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    import torch

    if threads:
        torch.set_num_threads(threads)
    from lm_eval.models.huggingface import HFLM

    path, identity = checkpoint_dir(variant)
    lm = HFLM(
        pretrained=str(path),
        dtype=variant.dtype,
        batch_size=variant.batch_size,
        device="cpu",
        max_length=variant.max_length,
        trust_remote_code=False,
    )
    identity["compute_dtype"] = variant.dtype
    identity["threads"] = torch.get_num_threads()
    return lm, identity
