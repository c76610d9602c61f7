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
its round-to-nearest quantized variants. Unknown keys are errors.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalcliff.errors import EvalcliffError

BUILTIN_NAMES = ("fp16", "bf16", "q8", "q4", "q3", "q2")


class Quantization(BaseModel):
    """Weight-only round-to-nearest quantization applied on load (hf backend)."""

    model_config = ConfigDict(extra="forbid")

    bits: int | None = Field(None, ge=2, le=8)
    group_size: int = 128
    symmetric: bool = False
    dtype: Literal["float16", "bfloat16", "float32"] = "float16"


class VariantConfig(BaseModel):
    """One variant: backend, model identity, and generation/serving settings."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["hf", "mock", "openai"] = "hf"
    model: str = "embedded"
    quantization: Quantization | None = None
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
    # mock backend only: share of items answered wrongly, chosen by a hash of (seed, item)
    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    seed: int = 0


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
            loc = ".".join(str(x) for x in err["loc"])
            raise EvalcliffError(f"{p}: variants.{name}.{loc}: {err['msg']}") from None
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
