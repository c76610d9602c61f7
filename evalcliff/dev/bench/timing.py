"""Timed runs: our paired_bootstrap, scipy.stats.bootstrap, and compare_runs end to end."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from evalcliff.dev.bench.workloads import Workload, results_tables
from evalcliff.stats import paired_bootstrap


def timed(fn: Callable[[], Any], repeats: int) -> dict[str, Any]:
    """Run `fn` `repeats` times; wall and process-CPU seconds (min and median) and the last
    return value."""
    walls, cpus = [], []
    value: Any = None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return {
        "wall_s_min": min(walls),
        "wall_s_median": float(np.median(walls)),
        "cpu_s_min": min(cpus),
        "repeats": repeats,
        "value": value,
    }


def ours(w: Workload, slices: Sequence[int], n_resamples: int) -> Callable[[], Any]:
    """Percentile paired (cluster) bootstrap per slice, as the gate calls it."""

    def run() -> list[tuple[float, float]]:
        out = []
        for s in slices:
            base, cand, cl = w.slice_data(s)
            res = paired_bootstrap(cand - base, cl, n_resamples, 0.95, seed=s)
            out.append((res.ci_low, res.ci_high))
        return out

    return run


def scipy_paired(
    w: Workload, slices: Sequence[int], n_resamples: int, batch: int
) -> Callable[[], Any]:
    """scipy.stats.bootstrap, paired=True, method='percentile', vectorized mean of cand-base,
    `batch` resamples at a time (its default, all at once, needs n_resamples x n x 8 bytes
    per array)."""
    from scipy.stats import bootstrap

    def stat(b: npt.NDArray[np.float64], c: npt.NDArray[np.float64], axis: int = -1) -> Any:
        return np.mean(c - b, axis=axis)

    def run() -> list[tuple[float, float]]:
        out = []
        for s in slices:
            base, cand, _ = w.slice_data(s)
            res = bootstrap(
                (base, cand),
                stat,
                n_resamples=n_resamples,
                batch=batch,
                vectorized=True,
                paired=True,
                method="percentile",
                confidence_level=0.95,
                rng=np.random.default_rng(s),
            )
            ci = res.confidence_interval
            out.append((float(ci.low), float(ci.high)))
        return out

    return run


def compare_end_to_end(w: Workload, n_resamples: int) -> Callable[[], Any]:
    """compare_runs on per-item tables: pairing, score and catastrophic bootstraps, two
    strata per slice, McNemar, Holm, weighted headline."""
    from evalcliff.gate import Policy, compare_runs

    base, cand = results_tables(w)
    policy = Policy(n_resamples=n_resamples)

    def run() -> str:
        return str(compare_runs(base, cand, policy).verdict)

    return run
