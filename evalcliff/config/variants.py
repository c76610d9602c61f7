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
its round-to-nearest quantized variants. The typed models live in `evalcliff.schema.variant`
(one per backend, a discriminated union on `backend`); this module reads files. Unknown keys
are errors, and so are settings that belong to another backend (e.g. `tensor_parallel_size`
on an hf variant); every error is one line naming the file and the field.

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

import difflib
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalcliff.errors import EvalcliffError
from evalcliff.schema.variant import (
    BACKEND_MODELS,
    DEFAULT_BACKEND,
    HFVariant,
    LlamaCppVariant,
    MockVariant,
    OpenAIVariant,
    Quantization,
    ServeConfig,
    VariantConfig,
    VLLMVariant,
    parse_variant,
    settings_from_defaults,
)
from evalcliff.textio import load_yaml, read_text

BUILTIN_NAMES = ("fp16", "bf16", "q8", "q4", "q3", "q2")

__all__ = [
    "BUILTIN_NAMES",
    "HFVariant",
    "LlamaCppVariant",
    "MockVariant",
    "OpenAIVariant",
    "Quantization",
    "ServeConfig",
    "VLLMVariant",
    "VariantConfig",
    "builtin_variant",
    "check_variant_name",
    "load_variants",
    "resolve_variant",
    "settings_from_defaults",
]

# pydantic names the member of a plain (non-discriminated) union in an error's location
_UNION_TAGS = {"Quantization", "ServeConfig", "str", "list[str]"}


def builtin_variant(name: str) -> VariantConfig:
    """The embedded model as built-in variant `name` (see BUILTIN_NAMES)."""
    from evalcliff.embedded.variants import BUILTIN_VARIANTS

    return HFVariant(backend="hf", model="embedded", quantization=BUILTIN_VARIANTS[name])


def check_variant_name(name: object) -> str | None:
    """Why `name` cannot name a variant (it becomes part of file names), or None if it can."""
    if not isinstance(name, str) or not name.strip():
        return "a variant name must be a non-empty string"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return f"variant name {name!r} contains control characters"
    if "/" in name or "\\" in name or name in (".", ".."):
        return f"variant name {name!r} must not contain '/' or '\\' (it names files)"
    if len(name) > 128:
        return f"variant name {name[:20]!r}... is longer than 128 characters"
    return None


def _error_line(path: Path, name: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc: list[Any] = list(err["loc"])
    backend = DEFAULT_BACKEND
    if loc and loc[0] in BACKEND_MODELS:  # the discriminated union's tag
        backend = str(loc.pop(0))
    loc = [x for x in loc if str(x) not in _UNION_TAGS and not str(x).startswith("function-")]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden" and len(loc) == 1:
        known = sorted(BACKEND_MODELS[backend].model_fields)
        close = difflib.get_close_matches(str(loc[0]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
        msg = f"unknown setting of backend {backend!r}{hint}"
    elif err["type"] == "extra_forbidden":
        msg = "unknown setting"
    where = ".".join(["variants", name, *(str(x) for x in loc)])
    return " ".join(f"{path}: {where}: {msg}".split())


def _parse(p: Path) -> object:
    text = read_text(p, "config file")
    if p.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise EvalcliffError(f"{p}: cannot parse TOML: {' '.join(str(exc).split())}") from None
    if p.suffix in (".yaml", ".yml"):
        return load_yaml(text, p)
    raise EvalcliffError(f"{p}: a config file must end in .toml, .yaml or .yml")


def load_variants(path: str | Path | None) -> dict[str, VariantConfig]:
    """Variants from a TOML/YAML file (`[variants.NAME]` tables); {} when path is None.

    Raises EvalcliffError (one line naming the file and the field) on an unreadable or
    non-UTF-8 file, a syntax error, a duplicate key, a bad variant name, an unknown backend
    or setting, a setting of another backend, or a value out of range.
    """
    if path is None:
        return {}
    p = Path(path)
    raw = _parse(p)
    if (
        not isinstance(raw, dict)
        or set(raw) - {"variants"}
        or not isinstance(raw.get("variants"), dict)
    ):
        raise EvalcliffError(f"{p}: expected a single top-level table 'variants' of named variants")
    if not raw["variants"]:
        raise EvalcliffError(f"{p}: variants: the table is empty")
    out: dict[str, VariantConfig] = {}
    for name, body in raw["variants"].items():
        problem = check_variant_name(name)
        if problem is not None:
            raise EvalcliffError(f"{p}: variants: {problem}")
        if not isinstance(body, dict):
            raise EvalcliffError(f"{p}: variants.{name}: expected a table of settings")
        backend = body.get("backend", DEFAULT_BACKEND)
        if not isinstance(backend, str) or backend not in BACKEND_MODELS:
            raise EvalcliffError(
                f"{p}: variants.{name}.backend: unknown backend {backend!r}; "
                f"known: {', '.join(BACKEND_MODELS)}"
            )
        try:
            out[name] = parse_variant(body)
        except ValidationError as exc:
            raise EvalcliffError(_error_line(p, name, exc)) from None
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
