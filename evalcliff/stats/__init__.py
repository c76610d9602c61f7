"""Paired statistics for comparing two variants on the same items (pure numpy/scipy)."""

from evalcliff.stats.bootstrap import BootstrapResult, paired_bootstrap, weighted_bootstrap
from evalcliff.stats.mcnemar import mcnemar_exact
from evalcliff.stats.multiplicity import holm
from evalcliff.stats.power import items_needed

__all__ = [
    "BootstrapResult",
    "holm",
    "items_needed",
    "mcnemar_exact",
    "paired_bootstrap",
    "weighted_bootstrap",
]
