"""Run scenarios: per dataset, the gate's percentile CI and a BCa CI from the same replicates."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evalcliff.stats.bootstrap import paired_bootstrap
from evalcliff.stats.intervals import bca_interval
from evalcliff.stats.reliability import MIN_UNITS
from evalcliff.stats.resample import jackknife_means, make_units
from evalcliff.stats.validation.simulate import Scenario, draw

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
METHODS = ("percentile", "bca")


@dataclass(frozen=True)
class Outcomes:
    """Per-dataset results of one scenario (arrays of length n_datasets).

    `low[m]`, `high[m]`: CI bounds by method m (fractions); `informative`: clusters (items
    without clusters) with at least one nonzero difference; `discordant`: items whose
    difference is nonzero.
    """

    scenario: Scenario
    low: dict[str, FloatArray]
    high: dict[str, FloatArray]
    informative: IntArray
    discordant: IntArray
    units: IntArray

    def covered(self, method: str) -> npt.NDArray[np.bool_]:
        """Whether each dataset's CI contains the true delta (bounds inclusive)."""
        d = self.scenario.delta
        return (self.low[method] <= d + 1e-12) & (d - 1e-12 <= self.high[method])

    def no_go(self, method: str, margin: float) -> npt.NDArray[np.bool_]:
        """The gate's fail decision: CI high < -margin, from at least MIN_UNITS units."""
        return (self.high[method] < -margin) & (self.units >= MIN_UNITS)

    def go(self, method: str, margin: float) -> npt.NDArray[np.bool_]:
        """The gate's pass decision: CI low > -margin, from at least MIN_UNITS units."""
        return (self.low[method] > -margin) & (self.units >= MIN_UNITS)


def scenario_rng(seed: int, scenario: Scenario) -> np.random.Generator:
    """A stream of its own per scenario, so cells do not depend on which others run."""
    return np.random.default_rng([seed, zlib.crc32(repr(scenario).encode())])


def run_scenario(
    scenario: Scenario, n_datasets: int, n_resamples: int, confidence: float, seed: int
) -> Outcomes:
    """Simulate `n_datasets` datasets and bootstrap each as the gate does (cluster
    bootstrap when the scenario is clustered)."""
    rng = scenario_rng(seed, scenario)
    low = {m: np.empty(n_datasets) for m in METHODS}
    high = {m: np.empty(n_datasets) for m in METHODS}
    informative = np.empty(n_datasets, dtype=np.int64)
    discordant = np.empty(n_datasets, dtype=np.int64)
    n_units = np.empty(n_datasets, dtype=np.int64)
    for i in range(n_datasets):
        data = draw(scenario, rng)
        d = data.diffs
        nonzero = d != 0
        discordant[i] = int(nonzero.sum())
        if data.clusters is None:
            informative[i] = discordant[i]
        else:
            informative[i] = int(np.unique(data.clusters[nonzero]).size)
        # The gate's own call; BCa reuses its replicates (what method="bca" would compute).
        res = paired_bootstrap(d, data.clusters, n_resamples, confidence, rng)
        low["percentile"][i], high["percentile"][i] = res.ci_low, res.ci_high
        units = make_units(d, data.clusters)
        n_units[i] = units.k
        if units.k >= 2 and not np.all(d == d[0]):
            bca = bca_interval(res.replicates, units.estimate, jackknife_means(units), confidence)
        else:
            bca = (res.ci_low, res.ci_high)
        low["bca"][i], high["bca"][i] = bca
    return Outcomes(scenario, low, high, informative, discordant, n_units)
