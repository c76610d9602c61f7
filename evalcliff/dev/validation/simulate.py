"""Paired 0/1 datasets with known truth, optionally clustered with strong within-cluster
correlation.

Model (per cluster c; without clusters every item is its own cluster and the cluster draws
are replaced by their means):
- flip rate f_c ~ Beta(f, kappa): the share of the cluster's items whose correctness changes;
- regress share s_c ~ Beta(s, kappa) with s = (1 - delta / f) / 2: the share of the flips that
  go right -> wrong (the rest go wrong -> right);
- agreement rate q_c ~ Beta(q, kappa) with q = (p - f s) / (1 - f): P(correct) of the items
  that do not flip, so the base accuracy is p.
Beta(m, kappa) is the Beta with mean m and a + b = kappa (kappa = 1: intra-cluster
correlation 1 / (kappa + 1) = 0.5 for each indicator, a strong one). Each item flips with
probability f_c; a flip regresses with probability s_c. So the true mean difference
E[cand - base] = E[f_c (1 - 2 s_c)] = delta, whatever the cluster sizes.
Cluster sizes vary: 1 + Multinomial(n - K, uniform) for K = round(n / cluster_size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

KAPPA = 1.0  # Beta concentration a + b: within-cluster correlation 1 / (1 + KAPPA)


@dataclass(frozen=True)
class Scenario:
    """One cell of the simulation: `n` paired items in clusters of mean size `cluster_size`
    (1 = independent items), base accuracy `base_acc`, flip rate `flip_rate` (share of items
    whose correctness changes) and true mean difference `delta` (cand - base, fraction)."""

    n: int
    cluster_size: int
    base_acc: float
    flip_rate: float
    delta: float

    @property
    def n_clusters(self) -> int:
        """Number of clusters (items when cluster_size is 1)."""
        return self.n if self.cluster_size == 1 else max(1, round(self.n / self.cluster_size))

    @property
    def regress_share(self) -> float:
        """Share of flips that go right -> wrong."""
        return 0.5 * (1.0 - self.delta / self.flip_rate)

    @property
    def agree_acc(self) -> float:
        """P(correct) of the items that do not flip, making the base accuracy `base_acc`."""
        f, s = self.flip_rate, self.regress_share
        return (self.base_acc - f * s) / (1.0 - f)

    def feasible(self) -> bool:
        """Whether the flip rate and delta are reachable from this base accuracy
        (e.g. at accuracy 0.05 at most 10% of items can flip with delta 0)."""
        if not 0.0 < self.flip_rate < 1.0 or abs(self.delta) > self.flip_rate:
            return False
        return -1e-12 <= self.agree_acc <= 1.0 + 1e-12


def _beta(rng: np.random.Generator, mean: float, size: int, clustered: bool) -> FloatArray:
    mean = min(1.0, max(0.0, mean))
    if not clustered or mean in (0.0, 1.0):
        return np.full(size, mean)
    return rng.beta(mean * KAPPA, (1.0 - mean) * KAPPA, size=size)


@dataclass(frozen=True)
class Dataset:
    """One simulated paired dataset: 0/1 base and cand per item, and cluster labels (None
    for independent items)."""

    base: FloatArray
    cand: FloatArray
    clusters: IntArray | None

    @property
    def diffs(self) -> FloatArray:
        """cand - base per item."""
        return self.cand - self.base


def draw(scenario: Scenario, rng: np.random.Generator) -> Dataset:
    """Simulate one dataset for `scenario` (must be feasible)."""
    if not scenario.feasible():
        raise ValueError(f"infeasible scenario {scenario}")
    n, k = scenario.n, scenario.n_clusters
    clustered = scenario.cluster_size > 1
    if clustered:
        sizes = 1 + rng.multinomial(n - k, np.full(k, 1.0 / k))
    else:
        sizes = np.ones(n, dtype=np.int64)
    f_c = _beta(rng, scenario.flip_rate, k, clustered)
    s_c = _beta(rng, scenario.regress_share, k, clustered)
    q_c = _beta(rng, scenario.agree_acc, k, clustered)
    f, s, q = (np.repeat(x, sizes) for x in (f_c, s_c, q_c))
    u = rng.random((3, n))
    flip = u[0] < f
    regress = flip & (u[1] < s)
    improve = flip & ~regress
    same = (u[2] < q).astype(np.float64)
    base = np.where(regress, 1.0, np.where(improve, 0.0, same))
    cand = np.where(regress, 0.0, np.where(improve, 1.0, same))
    labels = np.repeat(np.arange(k, dtype=np.int64), sizes) if clustered else None
    return Dataset(base, cand, labels)
