"""Run scenarios: per dataset, the gate's percentile CI and a BCa CI from the same replicates."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evalcliff.dev.validation.simulate import Scenario, draw
from evalcliff.gate.slices import combine, rule_status, score_status, single_cluster_rule
from evalcliff.stats.bootstrap import paired_bootstrap
from evalcliff.stats.intervals import bca_interval
from evalcliff.stats.resample import jackknife_means, make_units

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

    def status(self, method: str, margin: float) -> npt.NDArray[np.str_]:
        """Each dataset's slice status ("pass", "fail", "inconclusive") as the gate decides
        it from method m's CI (see `gate_status`)."""
        return np.array(
            [
                gate_status(lo, hi, int(k), margin)
                for lo, hi, k in zip(self.low[method], self.high[method], self.units, strict=True)
            ]
        )

    def no_go(self, method: str, margin: float) -> npt.NDArray[np.bool_]:
        """Where the gate fails the slice (its NO-GO)."""
        fail: npt.NDArray[np.bool_] = self.status(method, margin) == "fail"
        return fail

    def go(self, method: str, margin: float) -> npt.NDArray[np.bool_]:
        """Where the gate passes the slice (its GO)."""
        passed: npt.NDArray[np.bool_] = self.status(method, margin) == "pass"
        return passed


def gate_status(ci_low: float, ci_high: float, n_units: int, margin: float) -> str:
    """A simulated slice's status through the gate's own decision functions: `score_status`
    on the CI, the single-cluster rule, and `combine` with a catastrophic rule that has no
    limit (simulated datasets carry none)."""
    s_status = score_status(float(ci_low), float(ci_high), margin)
    c_status = rule_status(0.0, 0.0, None)
    return combine(*single_cluster_rule(s_status, c_status, int(n_units), None))


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
