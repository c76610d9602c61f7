"""Bootstrap speed, ours vs scipy.stats.bootstrap (a section of `python -m evalcliff.dev.bench`).

Every row of the table is one thread. The continuous-score workloads take the integer-draw
path, which can also run on threads: it is timed on one thread and on all the CPUs this
process may use, alternating (1, N, 1, N, ...), and both figures are reported.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from evalcliff.dev.bench.timing import compare_end_to_end, scipy_paired, timed
from evalcliff.dev.bench.workloads import Workload, binary, continuous
from evalcliff.stats import paired_bootstrap

N_ITEMS, N_SLICES, N_RESAMPLES = 100_000, 20, 10_000
SCIPY_SLICES = 2  # scipy runs on the first slices only (same data, same resamples)
SCIPY_BATCH = 1000
CONTINUOUS_REPEATS = 3  # at least, alternating one thread and all threads
METHOD = (
    "continuous scores take the integer-draw path (evalcliff/stats/resample.py): exact"
    " indices from 16-bit words of SFC64 with rejection (no modulo bias), a float32 gather"
    " of the centred differences and float32 row sums in blocks of 2**17 draws (rounding"
    " <= 1.4e-4 bootstrap SE at 5,000 items); tasks of 2**22 draws each have their own"
    " seeded generator, so any thread count gives the same replicates"
)


def _cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _ours(
    w: Workload, slices: Sequence[int], n_resamples: int, threads: int
) -> Callable[[], list[tuple[float, float]]]:
    """Percentile paired (cluster) bootstrap per slice, as the gate calls it, on `threads`."""

    def run() -> list[tuple[float, float]]:
        out = []
        for s in slices:
            base, cand, cl = w.slice_data(s)
            res = paired_bootstrap(cand - base, cl, n_resamples, 0.95, seed=s, threads=threads)
            out.append((res.ci_low, res.ci_high))
        return out

    return run


def _alternating(fns: Sequence[Callable[[], Any]], repeats: int) -> list[dict[str, Any]]:
    """`timed` for each of `fns`, run in turn (A B A B ...) so load hits them alike."""
    runs: list[list[dict[str, Any]]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, got in zip(fns, runs, strict=True):
            got.append(timed(fn, 1))
    return [
        {
            "wall_s_min": min(t["wall_s_min"] for t in got),
            "wall_s_median": float(np.median([t["wall_s_min"] for t in got])),
            "cpu_s_min": min(t["cpu_s_min"] for t in got),
            "repeats": repeats,
            "value": got[-1]["value"],
        }
        for got in runs
    ]


def _row(label: str, workload: str, items: int, slices: int, t: dict[str, Any]) -> dict[str, Any]:
    per = t["wall_s_min"] / (items * N_RESAMPLES) * 1e9
    return {
        "label": label,
        "workload": workload,
        "items": items,
        "slices": slices,
        "n_resamples": N_RESAMPLES,
        "wall_s_min": t["wall_s_min"],
        "wall_s_median": t["wall_s_median"],
        "cpu_s_min": t["cpu_s_min"],
        "repeats": t["repeats"],
        "ns_per_resample_item": per,
    }


def _continuous_clusters() -> Workload:
    w = continuous(N_ITEMS, N_SLICES)
    return dataclasses.replace(
        w,
        name="continuous-clusters10",
        clusters=np.arange(N_ITEMS, dtype=np.int64) // 10,
        description="continuous scores in [0, 1], clusters of 10 items",
    )


def bootstrap(repeats: int) -> dict[str, Any]:
    """Bootstrap speed (binary, clustered, continuous) and the scipy comparison."""
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    threaded: list[dict[str, Any]] = []
    cpus = _cpus()
    per_slice = N_ITEMS // N_SLICES
    for w in (
        binary(N_ITEMS, N_SLICES),
        binary(N_ITEMS, N_SLICES, 10),
        continuous(N_ITEMS, N_SLICES),
        _continuous_clusters(),
    ):
        print(f"{w.name}: ours, full workload", file=sys.stderr)
        one = _ours(w, range(N_SLICES), N_RESAMPLES, 1)
        if w.name.startswith("continuous"):
            reps = max(repeats, CONTINUOUS_REPEATS)
            full, many = _alternating([one, _ours(w, range(N_SLICES), N_RESAMPLES, cpus)], reps)
            threaded.append(
                {
                    "workload": w.name,
                    "threads": cpus,
                    "wall_s_min": many["wall_s_min"],
                    "wall_s_median": many["wall_s_median"],
                    "cpu_s_min": many["cpu_s_min"],
                    "one_thread_wall_s_min": full["wall_s_min"],
                    "one_thread_cpu_s_min": full["cpu_s_min"],
                    "repeats": reps,
                    "same_cis": many["value"] == full["value"],
                }
            )
        else:
            full = timed(one, repeats)
        rows.append(_row("evalcliff paired_bootstrap", w.name, N_ITEMS, N_SLICES, full))
        if w.clusters is not None:
            continue  # scipy.stats.bootstrap has no cluster resampling
        sub = range(SCIPY_SLICES)
        print(f"{w.name}: ours and scipy on {SCIPY_SLICES} slices", file=sys.stderr)
        small = timed(_ours(w, sub, N_RESAMPLES, 1), repeats)
        sp = timed(scipy_paired(w, sub, N_RESAMPLES, SCIPY_BATCH), 1)
        n_sub = SCIPY_SLICES * per_slice
        rows.append(_row("evalcliff paired_bootstrap", w.name, n_sub, SCIPY_SLICES, small))
        rows.append(_row("scipy.stats.bootstrap", w.name, n_sub, SCIPY_SLICES, sp))
        checks.append(
            {
                "workload": w.name,
                "slice0_ci_ours": small["value"][0],
                "slice0_ci_scipy": sp["value"][0],
                "ratio_same_workload": sp["wall_s_min"] / small["wall_s_min"],
                "ratio_scipy_extrapolated_to_full": sp["wall_s_min"]
                * (N_SLICES / SCIPY_SLICES)
                / full["wall_s_min"],
            }
        )
    print("compare_runs end to end", file=sys.stderr)
    e2e = timed(compare_end_to_end(binary(N_ITEMS, N_SLICES), N_RESAMPLES), 1)
    rows.append(_row("compare_runs (end to end)", "binary-items", N_ITEMS, N_SLICES, e2e))
    result = {
        "rows": rows,
        "scipy_checks": checks,
        "threaded": threaded,
        "method": METHOD,
        "budget_s": 2.0,
        "headline_wall_s": rows[0]["wall_s_min"],
        "continuous_wall_s": next(
            r["wall_s_min"] for r in rows if r["workload"] == "continuous-items"
        ),
        "continuous_threads_wall_s": threaded[0]["wall_s_min"],
        "environment": {
            "cpus": os.cpu_count(),
            "load_avg_before": load_before,
            "load_avg_after": os.getloadavg(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "machine": platform.machine(),
            "processor": platform.processor(),
            "threads_used": cpus,  # the table's rows: 1; `threaded`: this many
        },
        "setup": {
            "n_items": N_ITEMS,
            "n_slices": N_SLICES,
            "n_resamples": N_RESAMPLES,
            "scipy_slices": SCIPY_SLICES,
            "scipy_batch": SCIPY_BATCH,
        },
    }
    return result


def _threads_markdown(r: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "### Continuous scores: method and threads",
        "",
        f"How: {r['method']}. The table above is one thread throughout. The same workloads on"
        f" threads, timed alternately with the one-thread runs (minimum of"
        f" {r['threaded'][0]['repeats']} each):",
        "",
        "| workload | threads | wall s (min) | wall s (median) | CPU s | one thread: wall s |"
        " one thread: CPU s | same CIs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in r["threaded"]:
        lines.append(
            f"| {t['workload']} | {t['threads']} | {t['wall_s_min']:.3f} |"
            f" {t['wall_s_median']:.3f} | {t['cpu_s_min']:.3f} | {t['one_thread_wall_s_min']:.3f}"
            f" | {t['one_thread_cpu_s_min']:.3f} | {'yes' if t['same_cis'] else 'NO'} |"
        )
    return lines + [""]


def section(quick: bool, work: Path) -> dict[str, Any]:
    """The bench section: one repeat in quick mode, three in full (the continuous workloads:
    at least `CONTINUOUS_REPEATS`, alternating one thread and all threads)."""
    from evalcliff.dev.bench.report import markdown

    result = bootstrap(1 if quick else 3)
    result["markdown"] = markdown(result).splitlines() + _threads_markdown(result)
    return result
