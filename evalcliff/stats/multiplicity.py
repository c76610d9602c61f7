"""Multiple-testing corrections across slices."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def holm(pvalues: Sequence[float] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Holm-Bonferroni step-down adjusted p-values, in the input order.

    With m p-values sorted ascending p_(1) <= ... <= p_(m), the adjusted value of p_(i) is
    max_{j <= i} min(1, (m - j + 1) * p_(j)): monotone in the sorted order and capped at 1.
    Rejecting where adjusted p < alpha controls the family-wise error rate at alpha.
    """
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if p.size == 0:
        return p
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must be in [0, 1], got {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted
