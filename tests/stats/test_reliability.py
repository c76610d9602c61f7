"""The reliability rule behind the gate's CI warnings."""

from __future__ import annotations

import numpy as np
import pytest

from evalcliff.stats.reliability import (
    MIN_INFORMATIVE_CLUSTERS,
    MIN_INFORMATIVE_ITEMS,
    changed_share_bound,
    informative_units,
    reliability_problems,
)


def test_informative_units_counts_clusters_with_a_change() -> None:
    diffs = np.array([0.0, 1.0, 0.0, -1.0, 0.0, 0.5])
    assert informative_units(diffs, None) == 3
    assert informative_units(diffs, np.array([0, 0, 1, 1, 2, 2])) == 3
    assert informative_units(diffs, np.array([0, 0, 0, 0, 1, 1])) == 2


def test_changed_share_bound_is_clopper_pearson() -> None:
    # Zero of n: 1 - (alpha/2)^(1/n).
    assert changed_share_bound(0, 300, 0.95) == pytest.approx(1 - 0.025 ** (1 / 300))
    assert changed_share_bound(5, 5, 0.95) == 1.0


def test_rules() -> None:
    assert reliability_problems(5000, 5000, 500, 0.02, 0.95) == []
    assert reliability_problems(5000, 5000, 0, 0.02, 0.95) == []  # margin safe anyway
    (msg,) = reliability_problems(200, 200, MIN_INFORMATIVE_ITEMS - 1, 0.02, 0.95)
    assert f"items with a nonzero difference (< {MIN_INFORMATIVE_ITEMS})" in msg
    assert reliability_problems(200, 200, MIN_INFORMATIVE_ITEMS, 0.02, 0.95) == []
    # Clusters need more informative units than independent items.
    (msg,) = reliability_problems(2000, 200, MIN_INFORMATIVE_CLUSTERS - 1, 0.02, 0.95)
    assert f"clusters with a nonzero difference (< {MIN_INFORMATIVE_CLUSTERS})" in msg
    probs = reliability_problems(50, 10, 3, 0.02, 0.95)
    assert len(probs) == 3 and "clusters with a nonzero difference" in probs[2]
