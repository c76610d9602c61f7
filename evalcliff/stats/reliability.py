"""When a slice's bootstrap CI cannot be trusted to cover at its nominal level.

The thresholds come from `python -m evalcliff.stats.validation` (reports/stats-validation.md):
below them the simulated 95% CIs covered the true delta less than 93.5% of the time in some
cells. The decisive quantity is the number of *informative units*: clusters (or items, without
clusters) in which some paired difference is nonzero. With few of them the bootstrap
distribution is lumpy and too narrow (with none it collapses to a point). A base or candidate
mean near 0 or 1 matters only through this count: it bounds how many items can flip.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MIN_ITEMS = 100
MIN_CLUSTERS = 30
MIN_INFORMATIVE = 20


def informative_units(diffs: npt.ArrayLike, clusters: npt.ArrayLike | None) -> int:
    """Clusters (items when `clusters` is None) containing at least one nonzero difference."""
    d = np.asarray(diffs, dtype=np.float64).ravel()
    nonzero = d != 0
    if clusters is None:
        return int(nonzero.sum())
    labels = np.asarray(clusters).ravel()
    return int(np.unique(labels[nonzero]).size)


def reliability_problems(n_items: int, n_clusters: int, n_informative: int) -> list[str]:
    """Why a slice's CI may cover less than its nominal level (empty when none).

    `n_clusters` counts distinct clusters (equal to `n_items` when items are independent).
    """
    problems = []
    if n_items < MIN_ITEMS:
        problems.append(f"only {n_items} items (< {MIN_ITEMS})")
    if n_clusters < MIN_CLUSTERS and n_clusters < n_items:
        problems.append(f"only {n_clusters} clusters (< {MIN_CLUSTERS})")
    if n_informative < MIN_INFORMATIVE:
        unit = "items" if n_clusters == n_items else "clusters"
        problems.append(
            f"only {n_informative} {unit} with a nonzero difference (< {MIN_INFORMATIVE})"
        )
    return problems
