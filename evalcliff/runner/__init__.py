"""Run one variant over a suite through lm-eval, persisting every item as it finishes."""

from evalcliff.runner.run import RunOutcome, run_variant

__all__ = ["RunOutcome", "run_variant"]
