"""Hugging Face transformers, in-process on the CPU: lm-eval's `HFLM`.

The embedded model's quantized variants are materialised (and cached) on demand, then
loaded like any checkpoint. Greedy decoding with batch size 1 by default, so a resumed
run computes every item with the same shapes as an uninterrupted one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from evalcliff.config.variants import HFVariant, VariantConfig, VLLMVariant
from evalcliff.errors import EvalcliffError
from evalcliff.paths import cache_dir
from evalcliff.suites.items import Item


def checkpoint_dir(variant: HFVariant | VLLMVariant) -> tuple[Path, dict[str, Any]]:
    """The directory to load and the model identity (path, source hash, quantization)."""
    from evalcliff.embedded import MODEL_DIR
    from evalcliff.embedded.variants import materialize_variant, source_weights_hash

    src = MODEL_DIR if variant.model == "embedded" else Path(variant.model)
    if not (src / "config.json").exists():
        raise EvalcliffError(f"{src}: not a Hugging Face checkpoint (no config.json)")
    identity: dict[str, Any] = {"path": str(src), "embedded": variant.model == "embedded"}
    q = variant.quantization
    if q is None or isinstance(q, str):  # a method name is the engine's business (vllm)
        return src, identity
    if not (src / "model.safetensors").exists():
        raise EvalcliffError(f"{src}: quantization needs a single model.safetensors file")
    out = materialize_variant(src, q, cache_dir() / "variants")
    identity.update(
        source_sha256=source_weights_hash(src),
        quantization=q.model_dump(),
        materialized=str(out),
    )
    return out, identity


def weights_bytes(src: Path, bits: int | None, group_size: int) -> int:
    """Deployed weight size: block linears at `bits` plus an fp16 scale and zero point per
    group; every other tensor in fp16. Without quantization: 2 bytes per parameter."""
    from safetensors import safe_open

    from evalcliff.embedded.quantize import is_block_linear_weight

    total = 0
    with safe_open(str(src / "model.safetensors"), "pt") as f:
        for name in f.keys():  # noqa: SIM118 - safe_open is not a mapping
            shape = f.get_slice(name).get_shape()
            n = 1
            for d in shape:
                n *= int(d)
            if bits is not None and is_block_linear_weight(name):
                groups = n // (group_size if group_size > 0 else int(shape[-1]))
                total += n * bits // 8 + groups * 4
            else:
                total += 2 * n
    return total


def make_lm(variant: VariantConfig, items: list[Item]) -> tuple[Any, dict[str, Any]]:
    """lm-eval's HFLM over the variant's checkpoint, on the CPU (`hf_stop.CachedStopHFLM`:
    the same stop-string rule, decoding each token window once)."""
    if not isinstance(variant, HFVariant):
        raise EvalcliffError(f"backend 'hf' cannot run a {variant.backend!r} variant")
    threads = variant.threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    import torch

    if threads:
        torch.set_num_threads(threads)
    from transformers.utils import logging as hf_logging

    from evalcliff.backends.hf_stop import CachedStopHFLM
    from evalcliff.runner.progress import interactive

    if not interactive():  # its "Loading weights" bar is carriage returns in a CI log
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    path, identity = checkpoint_dir(variant)
    lm = CachedStopHFLM(  # lm-eval's HFLM with its stop-string rule's decodes cached
        pretrained=str(path),
        dtype=variant.dtype,
        batch_size=variant.batch_size,
        device="cpu",
        max_length=variant.max_length,
        trust_remote_code=False,
    )
    identity["compute_dtype"] = variant.dtype
    import json

    from evalcliff.runner.perf import memory_estimate

    src = Path(identity["path"])
    if (src / "model.safetensors").exists():
        rtn = variant.quantization
        wb = weights_bytes(src, rtn.bits if rtn else None, rtn.group_size if rtn else 128)
        cfg = json.loads((path / "config.json").read_text())
        context = int(cfg.get("max_position_embeddings", 0) or 0)
        identity["memory_estimate"] = memory_estimate(cfg, wb, context, variant.batch_size)
    identity["threads"] = torch.get_num_threads()
    return lm, identity
