"""GGUF files served by llama.cpp's OpenAI-compatible server, evaluated over HTTP.

A `llamacpp` variant names a .gguf file, or `model = "embedded"` with `gguf_quant`
(F16, Q8_0, Q4_K_M, ...): the embedded model is exported to GGUF and quantized with
llama.cpp's own quantizer (see `evalcliff.embedded.gguf`). `evalcliff.serve.served` starts
one server per variant on a free loopback port, so two variants run side by side, and the
run itself goes through the `openai` backend (retries, per-item errors, streaming timings).
"""

from __future__ import annotations

import hashlib
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from evalcliff.config.variants import LlamaCppVariant, ServeConfig
from evalcliff.errors import EvalcliffError


def gguf_path(variant: LlamaCppVariant) -> Path:
    """The GGUF file a llamacpp variant serves (built and cached for the embedded model)."""
    if variant.model == "embedded":
        from evalcliff.embedded.gguf import embedded_gguf

        return embedded_gguf(variant.gguf_quant)
    path = Path(variant.model)
    if path.suffix != ".gguf" or not path.is_file():
        raise EvalcliffError(f"{path}: backend 'llamacpp' needs an existing .gguf file as model")
    return path


def gguf_identity(path: Path) -> dict[str, Any]:
    """Path, sha256, size and the architecture numbers a memory estimate needs."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    out: dict[str, Any] = {"gguf": str(path), "gguf_sha256": h.hexdigest()}
    out["weights_bytes"] = path.stat().st_size
    try:
        import gguf

        reader = gguf.GGUFReader(str(path))
        arch = _field(reader, "general.architecture")
        cfg = {
            "num_hidden_layers": _field(reader, f"{arch}.block_count"),
            "num_attention_heads": _field(reader, f"{arch}.attention.head_count"),
            "num_key_value_heads": _field(reader, f"{arch}.attention.head_count_kv"),
            "hidden_size": _field(reader, f"{arch}.embedding_length"),
        }
        out["config"] = cfg
        out["file_type"] = _field(reader, "general.file_type")
    except ImportError:
        pass
    return out


def _field(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return None
    val = f.parts[f.data[0]]
    if f.types and f.types[0].name == "STRING":
        return bytes(val).decode()
    return val.tolist()[0]


def prepare(variant: LlamaCppVariant) -> tuple[ServeConfig, str, dict[str, Any]]:
    """(how to start the server, served model name, model identity) for a llamacpp variant."""
    try:
        version = metadata.version("llama_cpp_python")
    except metadata.PackageNotFoundError:
        raise EvalcliffError(
            "backend 'llamacpp' needs llama.cpp's server: pip install 'evalcliff[gguf]'"
        ) from None
    path = gguf_path(variant)
    identity = gguf_identity(path)
    identity.update(llama_cpp_python=version, gguf_quant=variant.gguf_quant)
    name = path.stem
    threads = variant.threads or 1
    command = [
        sys.executable,
        "-m",
        "evalcliff.backends.llamacpp_server",
        "--model",
        str(path),
        "--model_alias",
        name,
        "--host",
        "{host}",
        "--port",
        "{port}",
        "--n_ctx",
        str(variant.n_ctx),
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--n_batch",
        "512",
    ]
    cfg = identity.get("config")
    if cfg and all(v is not None for v in cfg.values()):
        from evalcliff.runner.perf import memory_estimate

        # llama-cpp-python's server decodes one sequence at a time: one n_ctx KV cache
        identity["memory_estimate"] = memory_estimate(
            cfg, identity["weights_bytes"], variant.n_ctx, 1
        )
    return ServeConfig(command=command, startup_timeout_s=120.0), name, identity
