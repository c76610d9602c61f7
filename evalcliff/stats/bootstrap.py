"""Paired (cluster) bootstrap CIs for a mean difference, and their weighted mix.

Differences are per-item `cand - base` in score units (fractions in [0, 1], so a difference
lies in [-1, 1]). All randomness comes from a seeded `numpy.random.Generator`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from evalcliff.stats.intervals import bca_interval, check_confidence, percentile_interval
from evalcliff.stats.resample import jackknife_means, make_units, resample_means

CIMethod = Literal["percentile", "bca"]
CI_METHODS: tuple[CIMethod, ...] = ("percentile", "bca")


@dataclass(frozen=True)
class BootstrapResult:
    """A point estimate with its CI and the bootstrap replicates behind it.

    `mean`, `ci_low`, `ci_high` are in the units of the input differences (score fractions);
    `replicates` holds one resampled mean per bootstrap draw (shape `(n_resamples,)`);
    `n_units` is the number of resampled units (clusters, or items without clusters).
    """

    mean: float
    ci_low: float
    ci_high: float
    replicates: npt.NDArray[np.float64]
    n_units: int = 0


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def paired_bootstrap(
    diffs: npt.ArrayLike,
    clusters: npt.ArrayLike | None,
    n_resamples: int,
    confidence: float,
    seed: int | np.random.Generator,
    method: CIMethod = "percentile",
    *,
    threads: int | None = None,
) -> BootstrapResult:
    """Bootstrap CI for the mean of paired per-item differences (cand - base).

    With `clusters` (one label per item, str or int), whole clusters are resampled with
    replacement and each replicate is (sum of resampled cluster sums) / (sum of resampled
    cluster sizes), so items that share a source are not treated as independent. Without
    clusters (or when every label is distinct) items are resampled individually. The
    resampling is the exact nonparametric bootstrap (see evalcliff.stats.resample for how it
    is made fast).

    `method`: "percentile" (the (1-confidence)/2 and 1-(1-confidence)/2 quantiles of the
    replicates; the gate's choice, see README "Statistics") or "bca" (bias-corrected and
    accelerated, acceleration from the leave-one-cluster-out jackknife).

    `threads`: threads for the integer-draw path (None: the CPUs this process may use, capped
    by OMP_NUM_THREADS); the result does not depend on it.

    Promises: `mean` is the plain mean of `diffs`; if all diffs equal d the result is exactly
    (d, d, d) (so exactly 0.0 for identical runs). Deterministic for a given int `seed`; a
    Generator is advanced. Memory is bounded by drawing resamples in chunks (~32 MB).
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    check_confidence(confidence)
    if method not in CI_METHODS:
        raise ValueError(f"method must be one of {CI_METHODS}, got {method!r}")
    d = np.asarray(diffs, dtype=np.float64).ravel()
    if d.size == 0:
        raise ValueError("paired_bootstrap needs at least one difference")
    if not np.all(np.isfinite(d)):
        raise ValueError("diffs must be finite")
    units = make_units(d, clusters)
    first = float(d[0])
    if np.all(d == first):  # exact, and avoids rounding noise like 0.1*3/3
        return BootstrapResult(first, first, first, np.full(n_resamples, first), units.k)

    reps = resample_means(units, n_resamples, _rng(seed), threads)
    mean = float(d.mean())
    if method == "bca" and units.k >= 2:
        lo, hi = bca_interval(reps, units.estimate, jackknife_means(units), confidence)
    else:
        lo, hi = percentile_interval(reps, confidence)
    return BootstrapResult(mean, lo, hi, reps, units.k)


def weighted_bootstrap(
    parts: Sequence[BootstrapResult], weights: Sequence[float], confidence: float
) -> BootstrapResult:
    """Weighted mean of independent per-slice estimates, with a joint percentile CI.

    `parts` are per-slice bootstrap results drawn independently with the same number of
    resamples; `weights` (>= 0, one per part) are normalised to sum to 1 over the parts given.
    The point estimate is sum(w_s * mean_s); replicate r is sum(w_s * replicates_s[r]).
    Units are those of the parts (score fractions).
    """
    check_confidence(confidence)
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
    lo, hi = percentile_interval(reps, confidence)
    return BootstrapResult(mean, lo, hi, reps, sum(p.n_units for p in parts))
