"""Distribution metrics where logprobs exist: token KL divergence and top-1 agreement.

These move long before accuracy does: a candidate can keep every answer while its
next-token distributions drift. Computed teacher-forced on the base variant's outputs.
"""

from evalcliff.distribution.summary import attach_divergence

__all__ = ["attach_divergence"]
