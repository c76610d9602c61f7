"""The release gate: a policy, paired per-slice non-inferiority decisions, and the verdict."""

from evalcliff.gate.noninferiority import EXIT_CODES, NoDataError, compare_runs
from evalcliff.gate.pairing import pair_runs
from evalcliff.gate.policy import Policy, SlicePolicy, load_policy

__all__ = [
    "EXIT_CODES",
    "NoDataError",
    "Policy",
    "SlicePolicy",
    "compare_runs",
    "load_policy",
    "pair_runs",
]
