"""Cost and latency of a run, from its per-item timings: what the swap buys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _pcts(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(np.asarray(values, dtype=float), [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}


def run_perf(
    df: pd.DataFrame,
    wall_s: float,
    n_computed: int,
    itl: list[float],
    fresh: pd.Series | None = None,
) -> dict[str, Any]:
    """Throughput and latency percentiles (seconds) over the requests computed in this run.

    `wall_s` is the generation wall time of this process. `fresh` marks the rows computed in
    this process: only they count in the latency percentiles (None: every row, as for a
    merged sequential run); items taken from the cache of an earlier, interrupted process
    count in neither percentiles nor throughput.
    """
    if fresh is not None:
        df = df.loc[fresh.to_numpy(dtype=bool)]
    lat = df["latency_s"].dropna().astype(float).tolist()
    ttft = df["ttft_s"].dropna().astype(float).tolist() if "ttft_s" in df else []
    tokens = df["output_tokens"].dropna().astype(float) if "output_tokens" in df else None
    out_tokens = float(tokens.sum()) if tokens is not None and len(tokens) else None
    return {
        "requests_computed": int(n_computed),
        "wall_s": round(wall_s, 3),
        "requests_per_s": (n_computed / wall_s) if wall_s > 0 and n_computed else None,
        "output_tokens_per_s": (
            out_tokens * n_computed / len(df) / wall_s
            if out_tokens and wall_s > 0 and n_computed
            else None
        ),
        "latency_s": _pcts(lat),
        "ttft_s": _pcts(ttft),
        "itl_s": _pcts(itl),
    }


def inter_token_gaps(path: Path) -> list[float]:
    """All inter-token gaps (s) recorded by a streaming backend in `path`."""
    gaps: list[float] = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                gaps.extend(json.loads(line).get("itl_s") or [])
            except json.JSONDecodeError:
                continue
    return gaps


def memory_estimate(
    config: dict[str, Any], weights_bytes: int, context: int, concurrency: int, kv_bytes: int = 2
) -> dict[str, Any]:
    """Weights + KV cache bytes: per token 2 (K,V) x layers x kv_heads x head_dim x kv_bytes.

    `context` is tokens per sequence, `concurrency` the sequences served at once.
    """
    layers = int(config.get("num_hidden_layers", 0))
    heads = int(config.get("num_attention_heads", 1))
    kv_heads = int(config.get("num_key_value_heads", heads) or heads)
    head_dim = int(config.get("head_dim") or config.get("hidden_size", 0) // max(1, heads))
    per_token = 2 * layers * kv_heads * head_dim * kv_bytes
    kv_total = per_token * context * concurrency
    return {
        "weights_bytes": int(weights_bytes),
        "kv_bytes_per_token": per_token,
        "context": context,
        "concurrency": concurrency,
        "kv_cache_bytes": kv_total,
        "total_bytes": int(weights_bytes) + kv_total,
    }
