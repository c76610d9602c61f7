"""Variants are named in a config file (TOML or YAML); built-in names need none.

```toml
[variants.fp16]
backend = "hf"
model = "embedded"            # or a path to a Hugging Face checkpoint directory

[variants.my_q4]
backend = "hf"
model = "embedded"
quantization = { bits = 4, group_size = 32, symmetric = true }
```

Built-in names (`fp16`, `bf16`, `q8`, `q4`, `q3`, `q2`) resolve to the embedded model and
its round-to-nearest quantized variants. Unknown keys are errors, and so are settings that
belong to another backend (e.g. `tensor_parallel_size` on an hf variant).

Backends and their own settings:

- `hf`: in-process transformers on the CPU (`quantization` table = RTN on load).
- `vllm`: lm-eval's vLLM model on GPUs (`pip install 'evalcliff[vllm]'`):
  `tensor_parallel_size`, `data_parallel_size` (Ray), `gpu_memory_utilization`,
  `max_model_len`; `quantization` is vLLM's method name ("fp8", "awq", ...) or an RTN table.
- `openai`: any OpenAI-compatible endpoint: `endpoints`, `concurrency`, `timeout_s`, retries,
  `stream`; add a `serve` table to have evalcliff start the server itself.
- `llamacpp`: a GGUF file served by llama.cpp's OpenAI-compatible server
  (`pip install 'evalcliff[gguf]'`): `model` is a .gguf path, or "embedded" with
  `gguf_quant` (F16, Q8_0, Q4_K_M, ...) to export and quantize the embedded model.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evalcliff.errors import EvalcliffError

BUILTIN_NAMES = ("fp16", "bf16", "q8", "q4", "q3", "q2")


class Quantization(BaseModel):
    """Weight-only round-to-nearest quantization applied on load (hf backend)."""

    model_config = ConfigDict(extra="forbid")

    bits: int | None = Field(None, ge=2, le=8)
    group_size: int = 128
    symmetric: bool = False
    dtype: Literal["float16", "bfloat16", "float32"] = "float16"


class ServeConfig(BaseModel):
    """How evalcliff starts (and stops) a server for a variant.

    `command` is a template (a string, split like a shell would, or a list); `{port}`,
    `{host}` and `{model}` are filled in. The server counts as up once `GET health_path`
    answers 200; evalcliff then sets `endpoints` to `http://{host}:{port}/v1`.
    """

    model_config = ConfigDict(extra="forbid")

    command: str | list[str]
    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=1, le=65535)  # None: a free port is picked
    health_path: str = "/v1/models"
    startup_timeout_s: float = Field(600.0, gt=0)
    stop_timeout_s: float = Field(20.0, gt=0)
    env: dict[str, str] = Field(default_factory=dict)


# settings that only one backend reads: setting them on another backend is an error
_BACKEND_ONLY: dict[str, set[str]] = {
    "tensor_parallel_size": {"vllm"},
    "data_parallel_size": {"vllm"},
    "gpu_memory_utilization": {"vllm"},
    "max_model_len": {"vllm"},
    "endpoints": {"openai"},
    "api_key_env": {"openai"},
    "serve": {"openai"},
    "timeout_s": {"openai", "llamacpp"},
    "max_retries": {"openai", "llamacpp"},
    "retry_backoff_s": {"openai", "llamacpp"},
    "stream": {"openai", "llamacpp"},
    "gguf_quant": {"llamacpp"},
    "n_ctx": {"llamacpp"},
    "error_rate": {"mock"},
    "threads": {"hf", "llamacpp"},
}


class VariantConfig(BaseModel):
    """One variant: backend, model identity, and generation/serving settings."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["hf", "mock", "openai", "vllm", "llamacpp"] = "hf"
    model: str = "embedded"
    # a table: RTN on load (hf, vllm); a string: vLLM's own method ("fp8", "awq", ...)
    quantization: Quantization | str | None = None
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"  # compute dtype (hf)
    # completion: the prompt as is; chat: wrapped in the model's chat template (instruct models)
    prompting: Literal["completion", "chat"] = "completion"
    system_prompt: str | None = None
    batch_size: int = Field(1, ge=1)
    threads: int | None = Field(None, ge=1)
    max_length: int | None = Field(None, ge=16)
    # openai backend: any OpenAI-compatible endpoint (vLLM serve, TGI, SGLang, llama.cpp
    # server, Ollama); `model` is the served model name. Several endpoints share the load.
    endpoints: list[str] = Field(default_factory=list)
    api_key_env: str | None = None  # name of the environment variable holding the key
    concurrency: int = Field(4, ge=1, le=1024)
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(4, ge=0, le=20)
    retry_backoff_s: float = Field(0.5, ge=0)
    stream: bool = True  # streaming measures time to first token and inter-token gaps
    serve: ServeConfig | None = None
    # vllm backend (through lm-eval's vllm model)
    tensor_parallel_size: int = Field(1, ge=1)
    data_parallel_size: int = Field(1, ge=1)  # >1 runs replicas through Ray
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = Field(None, ge=16)
    # llamacpp backend: quantization type for an exported embedded model, context size
    gguf_quant: str = "F16"
    n_ctx: int = Field(1024, ge=64)
    # mock backend only: share of items answered wrongly, chosen by a hash of (seed, item)
    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    seed: int = 0

    @model_validator(mode="after")
    def _backend_settings(self) -> VariantConfig:
        for field in sorted(self.model_fields_set):
            owners = _BACKEND_ONLY.get(field)
            default = type(self).model_fields[field].get_default(call_default_factory=True)
            # a default value (e.g. from a dumped-and-reloaded config) is harmless
            if (
                owners is not None
                and self.backend not in owners
                and getattr(self, field) != default
            ):
                raise ValueError(
                    f"{field!r} is a setting of backend {'/'.join(sorted(owners))}, "
                    f"not of backend {self.backend!r}"
                )
        if isinstance(self.quantization, str) and self.backend != "vllm":
            raise ValueError(
                f"quantization = {self.quantization!r} (a method name) needs backend 'vllm'; "
                "use a table such as {bits = 4, group_size = 128} for round-to-nearest"
            )
        if self.backend == "llamacpp" and self.quantization is not None:
            raise ValueError("backend 'llamacpp' quantizes with gguf_quant, not quantization")
        if (
            self.backend == "llamacpp"
            and self.model != "embedded"
            and "gguf_quant" in (self.model_fields_set)
        ):
            raise ValueError("gguf_quant applies to model = 'embedded'; give a .gguf path alone")
        if self.backend == "openai" and not self.endpoints and self.serve is None:
            raise ValueError("backend 'openai' needs endpoints, or a serve table to start one")
        return self


_UNION_TAGS = {"Quantization", "ServeConfig", "str", "list[str]"}


def builtin_variant(name: str) -> VariantConfig:
    """The embedded model as built-in variant `name` (see BUILTIN_NAMES)."""
    from evalcliff.embedded.variants import BUILTIN_VARIANTS

    spec = BUILTIN_VARIANTS[name]
    return VariantConfig(
        backend="hf", model="embedded", quantization=Quantization(**spec.model_dump())
    )


def load_variants(path: str | Path | None) -> dict[str, VariantConfig]:
    """Variants from a TOML/YAML file (`[variants.NAME]` tables); {} when path is None."""
    if path is None:
        return {}
    p = Path(path)
    if not p.exists():
        raise EvalcliffError(f"{p}: config file not found")
    try:
        raw = tomllib.loads(p.read_text()) if p.suffix == ".toml" else yaml.safe_load(p.read_text())
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise EvalcliffError(f"{p}: cannot parse: {exc}") from None
    if (
        not isinstance(raw, dict)
        or set(raw) - {"variants"}
        or not isinstance(raw.get("variants"), dict)
    ):
        raise EvalcliffError(f"{p}: expected a single top-level table 'variants' of named variants")
    out = {}
    for name, body in raw["variants"].items():
        try:
            out[name] = VariantConfig.model_validate(body)
        except ValidationError as exc:
            err = exc.errors()[0]
            # union members appear in the location as type names: drop them
            loc = ".".join(str(x) for x in err["loc"] if str(x) not in _UNION_TAGS)
            where = f"variants.{name}.{loc}" if loc else f"variants.{name}"
            raise EvalcliffError(f"{p}: {where}: {err['msg']}") from None
    return out


def resolve_variant(name: str, config: str | Path | None = None) -> VariantConfig:
    """A variant by name: from the config file if it defines it, else a built-in."""
    variants = load_variants(config)
    if name in variants:
        return variants[name]
    if name in BUILTIN_NAMES:
        return builtin_variant(name)
    where = f" or in {config}" if config else " (pass --config FILE to define it)"
    raise EvalcliffError(f"unknown variant {name!r}: not built in {list(BUILTIN_NAMES)}{where}")
