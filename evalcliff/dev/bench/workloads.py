"""Synthetic paired workloads for the benchmark (deterministic for a seed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Workload:
    """Paired base/cand scores (fractions) for `n_slices` equal slices, optional cluster
    labels (int per item), and a description."""

    name: str
    base: FloatArray
    cand: FloatArray
    slice_of: npt.NDArray[np.int64]
    clusters: npt.NDArray[np.int64] | None
    description: str

    @property
    def n_items(self) -> int:
        """Items over all slices."""
        return len(self.base)

    @property
    def n_slices(self) -> int:
        """Number of slices."""
        return int(self.slice_of.max()) + 1

    def slice_data(self, s: int) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64] | None]:
        """(base, cand, clusters) of slice `s`."""
        sel = self.slice_of == s
        cl = None if self.clusters is None else self.clusters[sel]
        return self.base[sel], self.cand[sel], cl


def binary(n_items: int, n_slices: int, cluster_size: int = 1, seed: int = 0) -> Workload:
    """0/1 scores: base accuracy 0.7, 10% of items flip (6% regress, 4% improve)."""
    rng = np.random.default_rng(seed)
    base = (rng.random(n_items) < 0.7).astype(np.float64)
    u = rng.random(n_items)
    cand = base.copy()
    cand[(base == 1) & (u < 0.06 / 0.7)] = 0.0
    cand[(base == 0) & (u < 0.04 / 0.3)] = 1.0
    clusters = None if cluster_size == 1 else np.arange(n_items, dtype=np.int64) // cluster_size
    what = "independent items" if cluster_size == 1 else f"clusters of {cluster_size} items"
    return Workload(
        f"binary-{'items' if cluster_size == 1 else f'clusters{cluster_size}'}",
        base,
        cand,
        np.arange(n_items, dtype=np.int64) * n_slices // n_items,
        clusters,
        f"0/1 scores, {what}, base accuracy 0.7, 10% flips",
    )


def continuous(n_items: int, n_slices: int, seed: int = 0) -> Workload:
    """Continuous scores in [0, 1] (every difference distinct): the bootstrap's worst case."""
    rng = np.random.default_rng(seed)
    base = rng.random(n_items)
    cand = np.clip(base + rng.normal(-0.01, 0.1, n_items), 0.0, 1.0)
    return Workload(
        "continuous-items",
        base,
        cand,
        np.arange(n_items, dtype=np.int64) * n_slices // n_items,
        None,
        "continuous scores in [0, 1], all differences distinct, independent items",
    )


def results_tables(w: Workload) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-item results tables (base, cand) for compare_runs, two strata per slice."""
    n = w.n_items
    ids = [f"s{s}/{i:06d}" for s, i in zip(w.slice_of, range(n), strict=True)]
    common = {
        "item_id": ids,
        "suite": "bench",
        "slice": [f"slice{s:02d}" for s in w.slice_of],
        "stratum": np.where(np.arange(n) % 2 == 0, "a", "b"),
        "cluster_id": ids if w.clusters is None else [f"c{c}" for c in w.clusters],
        "prompt_hash": ids,
        "output": "",
        "target": "",
        "error": None,
        "latency_s": None,
    }
    tables = []
    for scores in (w.base, w.cand):
        tables.append(
            pd.DataFrame(
                {**common, "score": scores, "correct": scores >= 0.5, "catastrophic": False}
            )
        )
    return tables[0], tables[1]
