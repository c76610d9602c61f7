"""Variant configs: one pydantic model per backend, joined as a discriminated union (no I/O).

`VariantConfig` is the union type `HFVariant | MockVariant | OpenAIVariant | VLLMVariant |
LlamaCppVariant`, told apart by `backend` (absent means "hf"); validate a mapping with
`parse_variant` (or `VARIANT_ADAPTER`). Every member forbids unknown keys and carries only
its own backend's settings; the shared ones (model, prompting, system prompt, batch size,
seed) live in `VariantBase`. A setting of another backend is refused with a message that
says which backend it belongs to.

`Quantization` is the one round-to-nearest spec: the config's `quantization` table and the
quantizer (`evalcliff.embedded.variants`) both use it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, ClassVar, Literal, Union
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

BackendName = Literal["hf", "mock", "openai", "vllm", "llamacpp"]
DEFAULT_BACKEND = "hf"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_METHOD = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


class Quantization(BaseModel):
    """Weight-only round-to-nearest quantization, applied on load (hf, vllm with a table).

    `bits=None` means no quantization (group_size and symmetric are then ignored). `dtype` is
    the storage dtype of the weights that are not quantized: each is cast to it and back.
    `group_size` counts input columns per scale (a positive count); -1 means one group per
    output row.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    bits: int | None = Field(default=None, ge=2, le=8)
    group_size: int = 128
    symmetric: bool = False
    dtype: Literal["float16", "bfloat16", "float32"] = "float16"

    @field_validator("bits", "group_size", mode="before")
    @classmethod
    def _no_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError(f"expected an integer, got {v!r}")
        return v

    @field_validator("group_size")
    @classmethod
    def _group_size_valid(cls, v: int) -> int:
        if v != -1 and v < 1:
            raise ValueError(f"group_size must be a positive column count or -1, got {v}")
        return v

    def cache_key(self) -> dict[str, Any]:
        """The fields that change the variant's weights (quantizer fields only if bits set)."""
        if self.bits is None:
            return {"bits": None, "dtype": self.dtype}
        return self.model_dump(mode="json")


class ServeConfig(BaseModel):
    """How evalcliff starts (and stops) a server for a variant.

    `command` is a template (a string, split like a shell would, or a list); `{port}`,
    `{host}` and `{model}` are filled in. The server counts as up once `GET health_path`
    answers 200; evalcliff then sets `endpoints` to `http://{host}:{port}/v1`.
    """

    model_config = ConfigDict(extra="forbid")

    command: str | list[str]
    host: str = Field("127.0.0.1", min_length=1)
    port: int | None = Field(None, ge=1, le=65535)  # None: a free port is picked
    health_path: str = "/v1/models"
    startup_timeout_s: float = Field(600.0, gt=0, allow_inf_nan=False)
    stop_timeout_s: float = Field(20.0, gt=0, allow_inf_nan=False)
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("command")
    @classmethod
    def _command_given(cls, v: str | list[str]) -> str | list[str]:
        if not (v.strip() if isinstance(v, str) else [p for p in v if p.strip()]):
            raise ValueError("the server command is empty")
        return v

    @field_validator("health_path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"health_path must start with '/', got {v!r}")
        return v

    @field_validator("env")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if not _ENV_NAME.match(k)]
        if bad:
            raise ValueError(f"not an environment variable name: {bad[0]!r}")
        return v


def _no_control(v: str, what: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in v):
        raise ValueError(f"{what} {v!r} contains control characters")
    return v


class VariantBase(BaseModel):
    """Settings every backend reads. Subclasses add their own and fix `backend`."""

    model_config = ConfigDict(extra="forbid")
    # a setting this backend lacks -> what to say instead of "a setting of backend X"
    _foreign_hints: ClassVar[dict[str, str]] = {}

    backend: BackendName
    # a checkpoint directory, "embedded", a served model name or a .gguf path, per backend
    model: str = Field("embedded", min_length=1)
    # completion: the prompt as is; chat: wrapped in the model's chat template (instruct models)
    prompting: Literal["completion", "chat"] = "completion"
    system_prompt: str | None = None
    batch_size: int = Field(1, ge=1)
    seed: int = 0

    @model_validator(mode="before")
    @classmethod
    def _other_backends_settings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        own = cls.model_fields
        mine = own["backend"].default
        for key in data:
            if key in own:
                continue
            if key in cls._foreign_hints:
                raise ValueError(cls._foreign_hints[key])
            owners = sorted(b for b, m in BACKEND_MODELS.items() if key in m.model_fields)
            if owners:
                raise ValueError(
                    f"{key!r} is a setting of backend {'/'.join(owners)}, not of backend {mine!r}"
                )
        return data

    @field_validator("model")
    @classmethod
    def _model_text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("model is empty")
        return _no_control(v, "model")


class _HTTPClientSettings(BaseModel):
    """How requests to an OpenAI-compatible server are sent (openai, llamacpp)."""

    concurrency: int = Field(4, ge=1, le=1024)
    # at most a day: past ~9.2e9 s the per-attempt deadline timer overflows
    timeout_s: float = Field(60.0, gt=0, le=86400, allow_inf_nan=False)
    max_retries: int = Field(4, ge=0, le=20)
    retry_backoff_s: float = Field(0.5, ge=0, allow_inf_nan=False)
    stream: bool = True  # streaming measures time to first token and inter-token gaps


class HFVariant(VariantBase):
    """In-process transformers on the CPU; `quantization` = RTN applied on load."""

    backend: Literal["hf"] = "hf"
    quantization: Quantization | None = None
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"  # compute dtype
    threads: int | None = Field(None, ge=1)
    max_length: int | None = Field(None, ge=16)

    @field_validator("quantization", mode="before")
    @classmethod
    def _table_only(cls, v: Any) -> Any:
        if isinstance(v, str):
            raise ValueError(
                f"quantization = {v!r} (a method name) needs backend 'vllm'; use a table such "
                "as {bits = 4, group_size = 128} for round-to-nearest"
            )
        return v


class MockVariant(VariantBase):
    """Deterministic mock answers; `error_rate` = share answered wrongly (hash of seed, item)."""

    backend: Literal["mock"] = "mock"
    error_rate: float = Field(0.0, ge=0.0, le=1.0)


class OpenAIVariant(VariantBase, _HTTPClientSettings):
    """Any OpenAI-compatible endpoint (vLLM serve, TGI, SGLang, llama.cpp server, Ollama).

    `model` is the served model name; several `endpoints` share the load round-robin. With a
    `serve` table evalcliff starts the server itself and fills in `endpoints`.
    """

    backend: Literal["openai"] = "openai"
    endpoints: list[str] = Field(default_factory=list)
    api_key_env: str | None = None  # name of the environment variable holding the key
    serve: ServeConfig | None = None

    @field_validator("endpoints")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            parts = urlsplit(url)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or any(c.isspace() for c in url)
            ):
                raise ValueError(f"{url!r} is not an http(s) URL such as http://127.0.0.1:8000/v1")
        return v

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.match(v):
            # never echo the value: it may be the key itself
            raise ValueError("not an environment variable name (give the name, never the key)")
        return v

    @model_validator(mode="after")
    def _somewhere_to_send(self) -> OpenAIVariant:
        if not self.endpoints and self.serve is None:
            raise ValueError("backend 'openai' needs endpoints, or a serve table to start one")
        return self


class VLLMVariant(VariantBase):
    """lm-eval's vLLM model on GPUs. `quantization`: vLLM's method name ("fp8", "awq", ...)
    or an RTN table (the dequantized checkpoint is materialised first, as for hf)."""

    backend: Literal["vllm"] = "vllm"
    quantization: Quantization | str | None = None
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    tensor_parallel_size: int = Field(1, ge=1)
    data_parallel_size: int = Field(1, ge=1)  # >1 runs replicas through Ray
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = Field(None, ge=16)

    @field_validator("quantization")
    @classmethod
    def _method(cls, v: Quantization | str | None) -> Quantization | str | None:
        if isinstance(v, str) and not _METHOD.match(v):
            raise ValueError(f"{v!r} is not a vLLM quantization method name (e.g. 'fp8', 'awq')")
        return v


class LlamaCppVariant(VariantBase, _HTTPClientSettings):
    """A GGUF file served by llama.cpp's OpenAI-compatible server. `model` is a .gguf path,
    or "embedded" with `gguf_quant` (F16, Q8_0, Q4_K_M, ...) to export and quantize it."""

    backend: Literal["llamacpp"] = "llamacpp"
    gguf_quant: str = Field("F16", pattern=r"^[A-Za-z0-9_]+$")
    n_ctx: int = Field(1024, ge=64)
    threads: int | None = Field(None, ge=1)

    _foreign_hints: ClassVar[dict[str, str]] = {
        "quantization": "backend 'llamacpp' quantizes with gguf_quant, not quantization"
    }

    @model_validator(mode="after")
    def _gguf_quant_for_embedded(self) -> LlamaCppVariant:
        if self.model != "embedded" and "gguf_quant" in self.model_fields_set:
            raise ValueError("gguf_quant applies to model = 'embedded'; give a .gguf path alone")
        return self


BACKEND_MODELS: dict[str, type[VariantBase]] = {
    "hf": HFVariant,
    "mock": MockVariant,
    "openai": OpenAIVariant,
    "vllm": VLLMVariant,
    "llamacpp": LlamaCppVariant,
}


def _backend_tag(v: Any) -> Any:
    """The union tag: `backend` of a mapping (absent: "hf") or of a variant instance."""
    if isinstance(v, dict):
        return v.get("backend", DEFAULT_BACKEND)
    return getattr(v, "backend", None)


VariantConfig = Annotated[
    Union[  # noqa: UP007 - Tag-annotated members need typing.Union at runtime
        Annotated[HFVariant, Tag("hf")],
        Annotated[MockVariant, Tag("mock")],
        Annotated[OpenAIVariant, Tag("openai")],
        Annotated[VLLMVariant, Tag("vllm")],
        Annotated[LlamaCppVariant, Tag("llamacpp")],
    ],
    Discriminator(_backend_tag),
]
"""One variant: a member of the union, chosen by `backend` (absent means "hf")."""

VARIANT_ADAPTER: TypeAdapter[VariantConfig] = TypeAdapter(VariantConfig)


def parse_variant(data: object) -> VariantConfig:
    """Validate a mapping (or a variant) into its backend's model; pydantic ValidationError
    otherwise (`evalcliff.config.variants.load_variants` turns it into one line)."""
    return VARIANT_ADAPTER.validate_python(data)


def settings_from_defaults(variant: BaseModel, prefix: str = "") -> list[str]:
    """Names of the settings the config did not give, which took their default, in field
    order; nested tables given in part are listed with dots (`quantization.group_size`)."""
    out: list[str] = []
    for name in type(variant).model_fields:
        if name not in variant.model_fields_set:
            out.append(prefix + name)
            continue
        value = getattr(variant, name)
        if isinstance(value, BaseModel):
            out.extend(settings_from_defaults(value, f"{prefix}{name}."))
    return out
