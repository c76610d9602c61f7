"""A run's identity: what decides its outputs, hashed into the run key.

The key covers the variant's backend settings, the weights fingerprint and the suite manifest
(scorers, generation settings, items, seed, limit). A finished run is reused only under the
same key; a model whose weights evalcliff cannot fingerprint (a served endpoint) has no
stable identity, so its finished runs are never reused or replayed.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from evalcliff.config.variants import VariantConfig
from evalcliff.schema.manifest import SuiteManifest

_WEIGHT_GLOBS = ("*.safetensors", "*.bin", "*.gguf", "config.json", "tokenizer*.json")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=@-]")


def _stat_fingerprint(path: Path) -> str | None:
    """Names, sizes and mtimes of the weight files at `path` (a file or a checkpoint dir)."""
    if path.is_dir():
        files = sorted({f for g in _WEIGHT_GLOBS for f in path.glob(g) if f.is_file()})
    else:
        files = [path] if path.is_file() else []
    if not files:
        return None
    stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    return "stat:" + hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]


def weights_fingerprint(variant: VariantConfig) -> str | None:
    """What identifies the weights behind a variant, or None when evalcliff cannot see them.

    The embedded model: the SHA-256 of its weights. A local checkpoint or GGUF file: names,
    sizes and mtimes of its files. The mock backend: fixed (it answers from the items).
    A served endpoint, or a hub model name that is not a local path: None.
    """
    if variant.backend == "mock":
        return "mock"
    if variant.backend == "openai":
        return None
    if variant.model == "embedded":
        from evalcliff.embedded import MODEL_DIR
        from evalcliff.embedded.variants import source_weights_hash

        return "sha256:" + source_weights_hash(MODEL_DIR)
    return _stat_fingerprint(Path(variant.model).expanduser())


def run_key(variant: VariantConfig, fingerprint: str | None, suite: SuiteManifest) -> str:
    """16 hex of SHA-256 over the variant settings, weights fingerprint and suite manifest."""
    blob = json.dumps(
        {
            "variant": variant.model_dump(mode="json"),
            "weights": fingerprint,
            "suite": suite.model_dump(mode="json"),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def safe_name(name: str) -> str:
    """`name` usable as one file-name component: unsafe characters replaced, and a short hash
    of the original appended when anything was replaced (so two names never collide)."""
    cleaned = _UNSAFE.sub("_", name).strip(".") or "_"
    if cleaned == name:
        return name
    return f"{cleaned}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def results_name(name: str, limit: int | None) -> str:
    """The default results file name of a variant's run: `NAME.parquet`, or
    `NAME.limitN.parquet` for a limited run (so it never overwrites a full one)."""
    stem = safe_name(name)
    return f"{stem}.limit{limit}.parquet" if limit is not None else f"{stem}.parquet"
