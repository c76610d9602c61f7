"""Compute (or reuse) the divergence table for a base/candidate pair of hf runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

from evalcliff.config.variants import HFVariant, VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.results import read_run
from evalcliff.suites.build import build_items
from evalcliff.suites.items import Item
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
    *,
    items: list[Item] | None = None,
) -> Path:
    """Path of a parquet of per-item KL/top-1 agreement, computed once per pair of runs.

    `items` are the suite's built items (built here when None)."""
    from evalcliff.backends.hf import checkpoint_dir
    from evalcliff.distribution.hf import token_divergence

    if not isinstance(base, HFVariant) or not isinstance(cand, HFVariant):
        raise EvalcliffError("token divergence needs two hf variants (see supports_divergence)")
    base_run, cand_run = read_run(base_results), read_run(cand_results)
    keys = [r.header.run_key if r.header else str(r.path) for r in (base_run, cand_run)]
    name = hashlib.sha256("|".join(keys).encode()).hexdigest()[:16]
    out = out_dir / f"divergence-{name}.parquet"
    if out.exists():
        return out
    base_df = base_run.results
    ids = set(base_df["item_id"])
    items = [it for it in (items if items is not None else build_items(spec)) if it.item_id in ids]
    outputs = dict(zip(base_df["item_id"], base_df["output"].fillna(""), strict=True))
    base_dir, _ = checkpoint_dir(base)
    cand_dir, _ = checkpoint_dir(cand)
    df = token_divergence(base_dir, cand_dir, items, outputs, dtype=base.dtype)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(out)
    return out
