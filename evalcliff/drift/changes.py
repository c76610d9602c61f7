"""What changed between two recorded runs: weights fingerprint, engine (what the server said
about itself), decoding and prompting settings, model identity, suite build, packages, tags."""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from evalcliff.drift.model import Change
from evalcliff.history.store import StoredRun

PROMPTING_KEYS = ("prompting", "system_prompt", "chat_template")
WEIGHTS_KEYS = ("quantization", "gguf_quant", "dtype", "compute_dtype", "materialized", "model")
DECODING_KEYS = (
    "temperature", "top_p", "top_k", "max_tokens", "max_gen_toks", "seed", "stop",
    "repetition_penalty", "presence_penalty", "frequency_penalty", "max_model_len",
    "tensor_parallel_size", "data_parallel_size", "n_ctx",
)  # fmt: skip


def _kind_of_setting(key: str) -> str:
    low = key.lower()
    if any(k in low for k in PROMPTING_KEYS):
        return "prompting"
    if low in WEIGHTS_KEYS:
        return "weights"
    if any(k == low for k in DECODING_KEYS) or "generation" in low or "sampling" in low:
        return "decoding"
    return "settings"


def _diff_maps(kind: str, prefix: str, a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            k = kind
            if kind in ("settings", "model") and _kind_of_setting(key) != "settings":
                k = _kind_of_setting(key)
            out.append(Change(kind=k, field=f"{prefix}{key}", baseline=a.get(key),
                              latest=b.get(key)))  # fmt: skip
    return out


def run_changes(baseline: StoredRun, latest: StoredRun) -> list[Change]:
    """Every difference between the two runs that can move scores without a code change."""
    out: list[Change] = []
    a, b = baseline.header, latest.header
    if a is None or b is None:
        if (a is None) != (b is None):
            out.append(Change(kind="model", field="header", baseline=a is not None,
                              latest=b is not None))  # fmt: skip
    else:
        if a.model.weights_fingerprint != b.model.weights_fingerprint:
            out.append(Change(kind="fingerprint", field="model.weights_fingerprint",
                              baseline=a.model.weights_fingerprint,
                              latest=b.model.weights_fingerprint))  # fmt: skip
        sa = a.model.server.model_dump() if a.model.server is not None else {}
        sb = b.model.server.model_dump() if b.model.server is not None else {}
        for key in ("models", "system_fingerprints"):
            if sorted(sa.get(key) or []) != sorted(sb.get(key) or []):
                out.append(Change(kind="engine", field=f"model.server.{key}",
                                  baseline=sa.get(key), latest=sb.get(key)))  # fmt: skip
        out += _diff_maps("engine", "model.server.headers.", sa.get("headers") or {},
                          sb.get("headers") or {})  # fmt: skip
        if a.backend != b.backend:
            out.append(Change(kind="settings", field="backend", baseline=a.backend,
                              latest=b.backend))  # fmt: skip
        out += _diff_maps("settings", "settings.", a.settings, b.settings)
        ma = a.model.model_dump(exclude={"server", "weights_fingerprint", "memory_estimate"})
        mb = b.model.model_dump(exclude={"server", "weights_fingerprint", "memory_estimate"})
        details_a, details_b = ma.pop("details") or {}, mb.pop("details") or {}
        out += _diff_maps("model", "model.", ma, mb)
        out += _diff_maps("model", "model.details.", details_a, details_b)
        for line in a.suite.differences(b.suite):
            out.append(Change(kind="suite", field="suite", baseline=None, latest=line))
        for key in ("name", "version", "seed", "limit", "content_hash"):
            va: JsonValue = getattr(a.suite, key)
            vb: JsonValue = getattr(b.suite, key)
            if va != vb:
                out.append(Change(kind="suite", field=f"suite.{key}", baseline=va, latest=vb))
        out += _diff_maps("packages", "packages.", a.packages, b.packages)
    out += _diff_maps("tags", "tags.", baseline.tags, latest.tags)
    return out
