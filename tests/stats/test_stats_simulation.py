"""Simulations with known truth: CI coverage and the gate's error rates.

Kept small (seeded, 2000 resamples) so the file runs in a few seconds.
"""

from __future__ import annotations

import numpy as np

from evalcliff.stats import paired_bootstrap

N_DATASETS = 300
N_ITEMS = 400
N_RESAMPLES = 2000
MARGIN = 0.02


def _binary_paired_diffs(
    rng: np.random.Generator, p_regress: float, p_improve: float
) -> np.ndarray:
    """Per-item cand - base for 0/1 outcomes: -1 (regressed), +1 (improved) or 0."""
    u = rng.random(N_ITEMS)
    return np.where(u < p_regress, -1.0, np.where(u < p_regress + p_improve, 1.0, 0.0))


def _simulate(p_regress: float, p_improve: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cis = np.empty((N_DATASETS, 2))
    for i in range(N_DATASETS):
        res = paired_bootstrap(
            _binary_paired_diffs(rng, p_regress, p_improve), None, N_RESAMPLES, 0.95, rng
        )
        cis[i] = res.ci_low, res.ci_high
    return cis


def test_coverage_and_false_go_at_the_margin() -> None:
    # True delta = 0.06 - 0.08 = -0.02 = -margin: the hardest case for a false GO.
    true_delta = 0.06 - 0.08
    cis = _simulate(0.08, 0.06, seed=11)
    coverage = np.mean((cis[:, 0] <= true_delta) & (true_delta <= cis[:, 1]))
    assert 0.92 <= coverage <= 0.98
    false_go = np.mean(cis[:, 0] > -MARGIN)  # pass although the loss equals the margin
    assert false_go <= 0.025 + 0.03


def test_false_no_go_when_nothing_changed() -> None:
    cis = _simulate(0.07, 0.07, seed=12)
    coverage = np.mean((cis[:, 0] <= 0.0) & (cis[:, 1] >= 0.0))
    assert 0.92 <= coverage <= 0.98
    false_no_go = np.mean(cis[:, 1] < -MARGIN)
    assert false_no_go <= 0.05 + 0.02


def test_cluster_bootstrap_keeps_coverage_where_naive_loses_it() -> None:
    rng = np.random.default_rng(13)
    n_clusters, size, n_sets = 80, 5, 200
    labels = np.repeat(np.arange(n_clusters), size)
    hits = {"cluster": 0, "naive": 0}
    for _ in range(n_sets):
        # Items from one source fail together: half the sources are hard (design effect ~1.9).
        p = np.repeat(rng.choice([0.05, 0.45], size=n_clusters), size)
        diffs = -(rng.random(n_clusters * size) < p).astype(float)
        true_delta = -(0.05 + 0.45) / 2
        for name, cl in (("cluster", labels), ("naive", None)):
            res = paired_bootstrap(diffs, cl, 1000, 0.95, rng)
            hits[name] += res.ci_low <= true_delta <= res.ci_high
    assert 0.90 <= hits["cluster"] / n_sets <= 0.99
    assert hits["naive"] / n_sets < hits["cluster"] / n_sets - 0.04
