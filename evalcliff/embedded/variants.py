"""Quantized variants of a Hugging Face checkpoint, built on demand and cached by content.

Built-in variants (`BUILTIN_VARIANTS`):

======  =====  ==========  =========  ========  ===============================================
name    bits   group_size  symmetric  dtype     what it is
======  =====  ==========  =========  ========  ===============================================
fp16    --     --          --         float16   the stored fp16 weights, unchanged (reference)
bf16    --     --          --         bfloat16  every weight rounded to bfloat16 and back
q8      8      128         yes        float16   int8 RTN, absmax scale per 128-column group
q4      4      128         no         float16   4-bit RTN, min/max scale + zero per 128 cols
q3      3      128         no         float16   3-bit RTN, min/max scale + zero per 128 cols
q2      2      32          no         float16   2-bit RTN, min/max scale + zero per 32 cols
======  =====  ==========  =========  ========  ===============================================

Only transformer-block linears (q/k/v/o/gate/up/down_proj) are quantized; embeddings,
`lm_head` and norms keep the storage dtype. A group size at least as wide as a weight's input
dimension means one group per output row. A variant directory holds float32 dequantized
weights, so any float backend runs it.

Importing this module does not import torch; `materialize_variant` does, and only on a cache
miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from evalcliff import SCHEMA_VERSION
from evalcliff.errors import EvalcliffError
from evalcliff.schema.variant import Quantization

# Bump whenever quantize.py's numerics or the variant directory layout change: it is part of
# the cache key, so stale variants are rebuilt instead of reused.
QUANTIZER_VERSION = 1

WEIGHTS_FILE = "model.safetensors"
RECORD_FILE = "variant.json"
CONFIG_FILE = "config.json"
_CHUNK = 1 << 20


# The one round-to-nearest spec, shared with the variant config's `quantization` table.
# `QuantSpec` is kept as the quantizer's name for it.
QuantSpec = Quantization


BUILTIN_VARIANTS: dict[str, Quantization] = {
    "fp16": Quantization(bits=None, dtype="float16"),
    "bf16": Quantization(bits=None, dtype="bfloat16"),
    "q8": Quantization(bits=8, group_size=128, symmetric=True),
    "q4": Quantization(bits=4, group_size=128, symmetric=False),
    "q3": Quantization(bits=3, group_size=128, symmetric=False),
    "q2": Quantization(bits=2, group_size=32, symmetric=False),
}


class TensorReport(BaseModel):
    """What happened to one tensor; `rel_error` is relative Frobenius error vs the source."""

    model_config = ConfigDict(extra="forbid")

    name: str
    shape: list[int]
    quantized: bool
    rel_error: float


class QuantReport(BaseModel):
    """Per-tensor outcome of `quantize.quantize_state_dict` plus counts and error summaries.

    Untouched tensors (`quantized=False`: embeddings, `lm_head`, norms) are not RTN-quantized;
    their `rel_error` is only the storage-dtype round trip (0.0 if already in that dtype).
    """

    model_config = ConfigDict(extra="forbid")

    n_quantized: int
    n_untouched: int
    mean_rel_error: float  # over quantized tensors; 0.0 if none
    max_rel_error: float  # over quantized tensors; 0.0 if none
    tensors: list[TensorReport]


class VariantRecord(BaseModel):
    """`variant.json`: what a cached variant directory was built from; written last."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    quantizer_version: int = QUANTIZER_VERSION
    content_hash: str  # sha256 hex; also the directory name
    source_weights_sha256: str
    source_files_sha256: str  # every source file except the weights (config, tokenizer)
    spec: Quantization
    report: QuantReport


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _side_files(src_dir: Path) -> list[Path]:
    """Every top-level entry of `src_dir` except the weights, in a stable order."""
    return sorted(p for p in src_dir.iterdir() if p.name != WEIGHTS_FILE)


def source_weights_hash(src_dir: Path) -> str:
    """Return the sha256 hex digest of `src_dir/model.safetensors` (raises EvalcliffError if
    the file is missing; sharded checkpoints are not supported)."""
    weights = Path(src_dir) / WEIGHTS_FILE
    if not weights.is_file():
        raise EvalcliffError(
            f"{weights} not found: a variant source must be a Hugging Face directory with a "
            f"single {WEIGHTS_FILE}"
        )
    return _sha256_file(weights)


def _side_files_hash(src_dir: Path) -> str:
    h = hashlib.sha256()
    for p in _side_files(src_dir):
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
        for f in files:
            h.update(f.relative_to(src_dir).as_posix().encode() + b"\0")
            h.update(_sha256_file(f).encode() + b"\0")
    return h.hexdigest()


def variant_content_hash(weights_sha256: str, files_sha256: str, spec: Quantization) -> str:
    """Return the cache key (sha256 hex) of a variant: source contents, spec, quantizer version.

    Name-free: two names with the same spec share one cached directory.
    """
    payload = {
        "quantizer_version": QUANTIZER_VERSION,
        "source_weights_sha256": weights_sha256,
        "source_files_sha256": files_sha256,
        "spec": spec.cache_key(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def read_variant_record(variant_dir: Path) -> VariantRecord:
    """Parse `variant_dir/variant.json` (raises OSError / pydantic ValidationError)."""
    return VariantRecord.model_validate_json((Path(variant_dir) / RECORD_FILE).read_text())


def _is_complete(variant_dir: Path, content_hash: str) -> bool:
    try:
        record = read_variant_record(variant_dir)
    except (OSError, ValueError):
        return False
    return record.content_hash == content_hash and (variant_dir / WEIGHTS_FILE).is_file()


def materialize_variant(src_dir: Path, spec: Quantization, cache_root: Path) -> Path:
    """Return a loadable Hugging Face directory for `spec` applied to `src_dir`, building it once.

    The directory is `cache_root / <content hash>`, where the hash covers the bytes of
    `src_dir/model.safetensors`, the other source files, the spec's weight-changing fields and
    `QUANTIZER_VERSION`. If that directory is complete (its `variant.json`, written last,
    carries the same hash) it is returned without recomputing anything. Otherwise it is built
    in a temporary directory under `cache_root` and renamed into place, so readers never see a
    partial variant and concurrent builders agree on one winner.

    The directory holds `model.safetensors` (float32 dequantized weights), `config.json` with
    the dtype set to float32, copies of every other source file (tokenizer, generation config)
    and `variant.json` (a VariantRecord with the quantization report).
    """
    src_dir = Path(src_dir)
    cache_root = Path(cache_root)
    weights_sha = source_weights_hash(src_dir)
    files_sha = _side_files_hash(src_dir)
    content_hash = variant_content_hash(weights_sha, files_sha, spec)
    final = cache_root / content_hash
    if _is_complete(final, content_hash):
        return final

    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{content_hash[:12]}-", dir=cache_root))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it owner-only; the cache may be shared
        report = _build_variant(src_dir, tmp, spec, weights_sha)
        record = VariantRecord(
            content_hash=content_hash,
            source_weights_sha256=weights_sha,
            source_files_sha256=files_sha,
            spec=spec,
            report=report,
        )
        # Written last: its presence (with the right hash) is what marks a variant complete.
        (tmp / RECORD_FILE).write_text(record.model_dump_json(indent=2) + "\n")
        if final.exists() and not _is_complete(final, content_hash):
            shutil.rmtree(final)  # leftover from an older layout or a tampered cache
        try:
            os.rename(tmp, final)
        except OSError:
            # Another builder won the race; its result is identical by construction.
            if not _is_complete(final, content_hash):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _build_variant(
    src_dir: Path, out_dir: Path, spec: Quantization, weights_sha: str
) -> QuantReport:
    """Write weights, config and side files of the variant into `out_dir`; return the report."""
    from safetensors.torch import load, save_file

    from evalcliff.embedded.quantize import quantize_state_dict

    data = (src_dir / WEIGHTS_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != weights_sha:
        raise EvalcliffError(f"{src_dir / WEIGHTS_FILE} changed while building a variant; retry")
    try:
        new_state, report = quantize_state_dict(load(data), spec)
    except ValueError as exc:
        raise EvalcliffError(f"cannot build variant of {src_dir}: {exc}") from exc
    del data
    save_file(new_state, out_dir / WEIGHTS_FILE, metadata={"format": "pt"})
    os.chmod(out_dir / WEIGHTS_FILE, 0o644)  # save_file leaves it owner-only

    _write_float32_config(src_dir / CONFIG_FILE, out_dir / CONFIG_FILE)
    # copyfile, not copy2: a read-only source (installed package data) must not make the
    # cache read-only.
    for p in _side_files(src_dir):
        if p.name == CONFIG_FILE:
            continue
        if p.is_dir():
            shutil.copytree(p, out_dir / p.name, copy_function=shutil.copyfile)
        else:
            shutil.copyfile(p, out_dir / p.name)
    return report


def _write_float32_config(src: Path, dst: Path) -> None:
    if not src.is_file():
        raise EvalcliffError(f"{src.parent} has no {CONFIG_FILE}; not a Hugging Face model dir")
    config = json.loads(src.read_text())
    # The weights are float32 now. transformers 5 reads `dtype` first, 4.x `torch_dtype`.
    config["torch_dtype"] = "float32"
    if "dtype" in config:
        config["dtype"] = "float32"
    dst.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
