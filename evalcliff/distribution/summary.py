"""Per-slice summaries of the distribution metrics, with bootstrap CIs, for summary.json."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalcliff.schema.summary import DistributionInfo, SliceSummary, Summary
from evalcliff.stats import paired_bootstrap

METHOD = "teacher-forced on the base variant's outputs; KL(base||cand) in nats/token"


def _slice_divergence(
    row: SliceSummary,
    g: pd.DataFrame,
    k: int,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> SliceSummary:
    if g.empty:
        return row
    clusters = g["cluster_id"].to_numpy()
    rng = np.random.default_rng([seed, 7919, k])
    kl = paired_bootstrap(
        g["kl_mean"].to_numpy(dtype=float), clusters, n_resamples, confidence, rng
    )
    top = paired_bootstrap(
        g["top1_agree"].to_numpy(dtype=float), clusters, n_resamples, confidence, rng
    )
    return row.model_copy(
        update={
            "kl_mean": kl.mean,
            "kl_ci_low": kl.ci_low,
            "kl_ci_high": kl.ci_high,
            "top1_agreement": top.mean,
            "top1_ci_low": top.ci_low,
            "top1_ci_high": top.ci_high,
        }
    )


def attach_divergence(
    summary: Summary,
    divergence: pd.DataFrame,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> Summary:
    """`summary` with `kl_mean`, `top1_agreement` and their CIs (cluster bootstrap) on each
    slice, and `distribution` saying how they were measured.

    KL is in nats per token; agreement is a fraction. Slices absent from `divergence` keep
    None. Descriptive only: these metrics take no part in the verdict.
    """
    slices = [
        _slice_divergence(
            row, divergence[divergence["slice"] == row.slice], k, n_resamples, confidence, seed
        )
        for k, row in enumerate(summary.slices)
    ]
    info = DistributionInfo(method=METHOD, n_items=len(divergence))
    return summary.model_copy(update={"slices": slices, "distribution": info})
