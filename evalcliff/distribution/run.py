"""Compute (or reuse) the divergence table for a base/candidate pair of hf runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from evalcliff.config.variants import HFVariant, VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.results import read_results
from evalcliff.results.io import header_path
from evalcliff.suites.build import build_items
from evalcliff.suites.spec import SuiteSpec


def supports_divergence(base: VariantConfig, cand: VariantConfig) -> bool:
    """Token distributions are available in-process for the hf backend only."""
    return isinstance(base, HFVariant) and isinstance(cand, HFVariant)


def divergence_table(
    base: VariantConfig,
    cand: VariantConfig,
    spec: SuiteSpec,
    base_results: Path,
    cand_results: Path,
    out_dir: Path,
) -> Path:
    """Path of a parquet of per-item KL/top-1 agreement, computed once per pair of runs."""
    from evalcliff.backends.hf import checkpoint_dir
    from evalcliff.distribution.hf import token_divergence

    if not isinstance(base, HFVariant) or not isinstance(cand, HFVariant):
        raise EvalcliffError("token divergence needs two hf variants (see supports_divergence)")
    keys = [
        json.loads(header_path(p).read_text()).get("run_key", "")
        for p in (base_results, cand_results)
    ]
    name = hashlib.sha256("|".join(keys).encode()).hexdigest()[:16]
    out = out_dir / f"divergence-{name}.parquet"
    if out.exists():
        return out
    base_df = read_results(base_results)
    ids = set(base_df["item_id"])
    items = [it for it in build_items(spec) if it.item_id in ids]
    outputs = dict(zip(base_df["item_id"], base_df["output"].fillna(""), strict=True))
    base_dir, _ = checkpoint_dir(base)
    cand_dir, _ = checkpoint_dir(cand)
    df = token_divergence(base_dir, cand_dir, items, outputs, dtype=base.dtype)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(out)
    return out
