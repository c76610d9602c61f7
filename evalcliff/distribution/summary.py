"""Per-slice summaries of the distribution metrics, with bootstrap CIs, for summary.json."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalcliff.stats import paired_bootstrap


def attach_divergence(
    summary: dict[str, Any],
    divergence: pd.DataFrame,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> None:
    """Add `kl_mean`, `top1_agreement` and their CIs (cluster bootstrap) to each slice row.

    KL is in nats per token; agreement is a fraction. Slices absent from `divergence` get
    None. Descriptive only: these metrics take no part in the verdict.
    """
    for k, row in enumerate(summary.get("slices", [])):
        g = divergence[divergence["slice"] == row["slice"]]
        if g.empty:
            row.update(
                kl_mean=None,
                kl_ci_low=None,
                kl_ci_high=None,
                top1_agreement=None,
                top1_ci_low=None,
                top1_ci_high=None,
            )
            continue
        clusters = g["cluster_id"].to_numpy()
        rng = np.random.default_rng([seed, 7919, k])
        kl = paired_bootstrap(
            g["kl_mean"].to_numpy(dtype=float), clusters, n_resamples, confidence, rng
        )
        top = paired_bootstrap(
            g["top1_agree"].to_numpy(dtype=float), clusters, n_resamples, confidence, rng
        )
        row.update(
            kl_mean=kl.mean,
            kl_ci_low=kl.ci_low,
            kl_ci_high=kl.ci_high,
            top1_agreement=top.mean,
            top1_ci_low=top.ci_low,
            top1_ci_high=top.ci_high,
        )
    summary["distribution"] = {
        "method": "teacher-forced on the base variant's outputs; KL(base||cand) in nats/token",
        "n_items": int(len(divergence)),
    }
