"""When a slice's bootstrap CI cannot be trusted to cover at its nominal level.

The thresholds come from `python -m evalcliff.stats.validation` (reports/stats-validation.md):
below them the simulated 95% CIs covered the true delta clearly less than 93.5% of the time.
The decisive quantity is the number of *informative units*: clusters (items, without
clusters) in which some paired difference is nonzero. With few of them the bootstrap
distribution is lumpy and too narrow; with none it collapses to a point. A base or candidate
mean near 0 or 1 matters only through this count, as it bounds how many items can flip.

Few informative units are not flagged when even an exact (Clopper-Pearson) upper bound on
the share of units that changed is below the margin: then no pattern of changes could move
the slice past the margin, so a pass is safe however narrow the bootstrap CI is (an A/A run
over thousands of items, say).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.stats import beta

# A bootstrap over fewer units than this has no spread at all: the gate decides nothing.
MIN_UNITS = 2
MIN_ITEMS = 100
MIN_CLUSTERS = 30
# Independent items reached 95% from 5 informative items on; clusters only from about 30
# (skewed cluster effects), so each gets its own threshold (10 keeps slack for items).
MIN_INFORMATIVE_ITEMS = 10
MIN_INFORMATIVE_CLUSTERS = 30


def min_informative(clustered: bool) -> int:
    """The informative-unit threshold for clustered or independent items."""
    return MIN_INFORMATIVE_CLUSTERS if clustered else MIN_INFORMATIVE_ITEMS


def informative_units(diffs: npt.ArrayLike, clusters: npt.ArrayLike | None) -> int:
    """Clusters (items when `clusters` is None) containing at least one nonzero difference."""
    d = np.asarray(diffs, dtype=np.float64).ravel()
    nonzero = d != 0
    if clusters is None:
        return int(nonzero.sum())
    labels = np.asarray(clusters).ravel()
    return int(np.unique(labels[nonzero]).size)


@lru_cache(maxsize=4096)
def changed_share_bound(n_informative: int, n_units: int, confidence: float) -> float:
    """Exact upper 1 - (1 - confidence) / 2 bound on the share of units with a nonzero
    difference (fraction), given `n_informative` of `n_units` observed."""
    if n_informative >= n_units:
        return 1.0
    upper = 1.0 - (1.0 - confidence) / 2.0
    return float(beta.ppf(upper, n_informative + 1, n_units - n_informative))


def reliability_problems(
    n_items: int, n_clusters: int, n_informative: int, margin: float, confidence: float
) -> list[str]:
    """Why a slice's CI may cover less than its nominal level (empty when none).

    `n_clusters` counts distinct clusters (equal to `n_items` when items are independent);
    `margin` is the slice's tolerated drop (fraction).
    """
    problems = []
    if n_items < MIN_ITEMS:
        problems.append(f"only {n_items} items (< {MIN_ITEMS})")
    if n_clusters < MIN_CLUSTERS and n_clusters < n_items:
        problems.append(f"only {n_clusters} clusters (< {MIN_CLUSTERS})")
    clustered = n_clusters < n_items
    least = min_informative(clustered)
    if (
        n_informative < least
        and changed_share_bound(n_informative, n_clusters, confidence) >= margin
    ):
        unit = "clusters" if clustered else "items"
        problems.append(f"only {n_informative} {unit} with a nonzero difference (< {least})")
    return problems


def items_for_reliability(
    n_items: int, n_informative: int, clustered: bool, margin: float, confidence: float
) -> int:
    """Items a slice needs before its CI is trusted, at the observed rate of informative
    units: enough for `min_informative` of them, or (with none observed) for the exact bound
    on the changed share to fall below `margin`, whichever comes first."""
    n_items = max(1, n_items)
    target = n_items * min_informative(clustered) / n_informative if n_informative else None
    # zero changes among N units: the exact bound is 1 - (alpha/2)^(1/N) < margin
    alpha_half = (1.0 - confidence) / 2.0
    exact = int(np.ceil(np.log(alpha_half) / np.log1p(-margin))) if 0.0 < margin < 1.0 else None
    options = [int(np.ceil(x)) for x in (target, exact) if x is not None]
    return max(MIN_ITEMS, min(options)) if options else MIN_ITEMS
