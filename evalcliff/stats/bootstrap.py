"""Paired (cluster) bootstrap percentile CIs for a mean difference, and their weighted mix.

Differences are per-item `cand - base` in score units (fractions in [0, 1], so a difference
lies in [-1, 1]). All randomness comes from a seeded `numpy.random.Generator`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Bytes of resample indices (plus as much again for gathered values) held at once.
_CHUNK_BYTES = 32 * 2**20


@dataclass(frozen=True)
class BootstrapResult:
    """A point estimate with its percentile CI and the bootstrap replicates behind it.

    `mean`, `ci_low`, `ci_high` are in the units of the input differences (score fractions);
    `replicates` holds one resampled mean per bootstrap draw (shape `(n_resamples,)`).
    """

    mean: float
    ci_low: float
    ci_high: float
    replicates: npt.NDArray[np.float64]


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _percentile_ci(reps: npt.NDArray[np.float64], confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    lo, hi = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def _cluster_totals(
    diffs: npt.NDArray[np.float64], clusters: npt.ArrayLike | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
    """Per-cluster sums and sizes; sizes is None when every item is its own cluster."""
    if clusters is None:
        return diffs, None
    labels = np.asarray(clusters)
    if labels.shape != diffs.shape:
        raise ValueError(f"clusters has shape {labels.shape}, diffs has shape {diffs.shape}")
    _, codes = np.unique(labels, return_inverse=True)
    codes = codes.ravel()
    sizes = np.bincount(codes).astype(np.float64)
    if len(sizes) == len(diffs):
        return diffs, None  # singleton clusters: the plain paired bootstrap
    return np.asarray(np.bincount(codes, weights=diffs), dtype=np.float64), sizes


def paired_bootstrap(
    diffs: npt.ArrayLike,
    clusters: npt.ArrayLike | None,
    n_resamples: int,
    confidence: float,
    seed: int | np.random.Generator,
) -> BootstrapResult:
    """Percentile bootstrap CI for the mean of paired per-item differences (cand - base).

    With `clusters` (one label per item, str or int), whole clusters are resampled with
    replacement and each replicate is (sum of resampled cluster sums) / (sum of resampled
    cluster sizes), so items that share a source are not treated as independent. Without
    clusters (or when every label is distinct) items are resampled individually.

    Promises: `mean` is the plain mean of `diffs`; the CI is the (1-confidence)/2 and
    1-(1-confidence)/2 quantiles of the replicates; if all diffs equal d the result is exactly
    (d, d, d) (so exactly 0.0 for identical runs). Deterministic for a given int `seed`; a
    Generator is advanced. Memory is bounded by drawing resamples in chunks (~64 MB).
    """
    _check(n_resamples, confidence)
    d = np.asarray(diffs, dtype=np.float64).ravel()
    if d.size == 0:
        raise ValueError("paired_bootstrap needs at least one difference")
    if not np.all(np.isfinite(d)):
        raise ValueError("diffs must be finite")
    sums, sizes = _cluster_totals(d, clusters)
    first = float(d[0])
    if np.all(d == first):  # exact, and avoids rounding noise like 0.1*3/3
        return BootstrapResult(first, first, first, np.full(n_resamples, first))

    k = len(sums)
    rng = _rng(seed)
    reps = np.empty(n_resamples, dtype=np.float64)
    chunk = max(1, _CHUNK_BYTES // (8 * k))
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, k, size=(stop - start, k))
        if sizes is None:
            reps[start:stop] = sums[idx].mean(axis=1)
        else:
            reps[start:stop] = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
    lo, hi = _percentile_ci(reps, confidence)
    return BootstrapResult(float(d.mean()), lo, hi, reps)


def weighted_bootstrap(
    parts: Sequence[BootstrapResult], weights: Sequence[float], confidence: float
) -> BootstrapResult:
    """Weighted mean of independent per-slice estimates, with a joint percentile CI.

    `parts` are per-slice bootstrap results drawn independently with the same number of
    resamples; `weights` (>= 0, one per part) are normalised to sum to 1 over the parts given.
    The point estimate is sum(w_s * mean_s); replicate r is sum(w_s * replicates_s[r]).
    Units are those of the parts (score fractions).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if len(parts) == 0 or len(parts) != len(weights):
        raise ValueError("weighted_bootstrap needs one weight per part, and at least one part")
    w = np.asarray(weights, dtype=np.float64)
    if np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
        raise ValueError(f"weights must be finite, >= 0 and not all zero, got {list(weights)}")
    w = w / w.sum()
    sizes = {len(p.replicates) for p in parts}
    if len(sizes) != 1:
        raise ValueError(f"parts have different numbers of replicates: {sorted(sizes)}")
    reps = np.zeros(sizes.pop(), dtype=np.float64)
    mean = 0.0
    for wi, part in zip(w, parts, strict=True):
        if wi > 0:  # a zero weight must not turn a constant mix into a rounded one
            reps += wi * part.replicates
            mean += float(wi) * part.mean
    lo, hi = _percentile_ci(reps, confidence)
    return BootstrapResult(mean, lo, hi, reps)
