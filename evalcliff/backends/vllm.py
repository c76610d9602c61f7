"""vLLM on GPUs, through lm-eval's own `vllm` model (`pip install 'evalcliff[vllm]'`).

Settings passed to vLLM: `dtype`, `quantization` (a method name such as "fp8", "awq",
"gptq"; an RTN table instead materialises the dequantized checkpoint first, as for hf),
`tensor_parallel_size` (GPUs per replica), `data_parallel_size` (replicas, run through Ray
by lm-eval), `gpu_memory_utilization`, `max_model_len`, `seed`. Batching is vLLM's own
(`batch_size = "auto"` unless the variant sets one). vLLM cannot be installed on the CPU
machines CI uses; `python -m evalcliff.backends.vllm_smoke` is the GPU check.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

from evalcliff.config.variants import VariantConfig, VLLMVariant
from evalcliff.errors import EvalcliffError
from evalcliff.suites.items import Item


def vllm_kwargs(variant: VLLMVariant) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keyword arguments for lm-eval's VLLM, model identity) for `variant`."""
    from evalcliff.backends.hf import checkpoint_dir

    model = variant.model
    identity: dict[str, Any]
    if model == "embedded" or Path(model).is_dir():
        path, identity = checkpoint_dir(variant)
        pretrained = str(path)
    else:  # a model name vLLM resolves itself (hub id or its own cache)
        if variant.quantization is not None and not isinstance(variant.quantization, str):
            raise EvalcliffError(
                f"{model}: an RTN quantization table needs a local checkpoint directory"
            )
        pretrained, identity = model, {"model_name": model}
    dtype = "auto" if variant.dtype == "float32" and model != "embedded" else variant.dtype
    kwargs: dict[str, Any] = {
        "pretrained": pretrained,
        "dtype": dtype,
        "tensor_parallel_size": variant.tensor_parallel_size,
        "data_parallel_size": variant.data_parallel_size,
        "gpu_memory_utilization": variant.gpu_memory_utilization,
        "max_model_len": variant.max_model_len,
        "seed": variant.seed,
        "batch_size": variant.batch_size if "batch_size" in variant.model_fields_set else "auto",
        "trust_remote_code": False,
    }
    if isinstance(variant.quantization, str):
        kwargs["quantization"] = variant.quantization
        identity["vllm_quantization"] = variant.quantization
    identity["engine"] = "vllm"
    return kwargs, identity


def make_lm(variant: VariantConfig, items: list[Item]) -> tuple[Any, dict[str, Any]]:
    """lm-eval's VLLM model for `variant`."""
    if not isinstance(variant, VLLMVariant):
        raise EvalcliffError(f"backend 'vllm' cannot run a {variant.backend!r} variant")
    if find_spec("vllm") is None:
        raise EvalcliffError(
            "backend 'vllm' needs vLLM on a CUDA machine: pip install 'evalcliff[vllm]'"
        )
    from lm_eval.models.vllm_causallms import VLLM

    kwargs, identity = vllm_kwargs(variant)
    lm = VLLM(**kwargs)
    identity["vllm"] = engine_version()
    return lm, identity


def engine_version() -> str:
    """The installed vLLM's version."""
    from importlib import metadata

    return metadata.version("vllm")
