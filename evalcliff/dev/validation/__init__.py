"""Simulation study of the paired bootstrap and the non-inferiority gate.

`python -m evalcliff.dev.validation` (or `make validate-stats`) simulates paired datasets with
known truth and writes reports/stats-validation.{md,json} and a power-curve figure.
"""

from evalcliff.dev.validation.experiment import Outcomes, run_scenario
from evalcliff.dev.validation.simulate import Dataset, Scenario, draw

__all__ = ["Dataset", "Outcomes", "Scenario", "draw", "run_scenario"]
