"""Bootstrap speed, ours vs scipy.stats.bootstrap (a section of `python -m evalcliff.dev.bench`)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from evalcliff.dev.bench.timing import compare_end_to_end, ours, scipy_paired, timed
from evalcliff.dev.bench.workloads import binary, continuous

N_ITEMS, N_SLICES, N_RESAMPLES = 100_000, 20, 10_000
SCIPY_SLICES = 2  # scipy runs on the first slices only (same data, same resamples)
SCIPY_BATCH = 1000


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


def bootstrap(repeats: int) -> dict[str, Any]:
    """Bootstrap speed (binary, clustered, continuous) and the scipy comparison."""
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    per_slice = N_ITEMS // N_SLICES
    for w in (
        binary(N_ITEMS, N_SLICES),
        binary(N_ITEMS, N_SLICES, 10),
        continuous(N_ITEMS, N_SLICES),
    ):
        print(f"{w.name}: ours, full workload", file=sys.stderr)
        reps = repeats if w.name != "continuous-items" else 1
        full = timed(ours(w, range(N_SLICES), N_RESAMPLES), reps)
        rows.append(_row("evalcliff paired_bootstrap", w.name, N_ITEMS, N_SLICES, full))
        if w.clusters is not None:
            continue  # scipy.stats.bootstrap has no cluster resampling
        sub = range(SCIPY_SLICES)
        print(f"{w.name}: ours and scipy on {SCIPY_SLICES} slices", file=sys.stderr)
        small = timed(ours(w, sub, N_RESAMPLES), repeats)
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
        "budget_s": 2.0,
        "headline_wall_s": rows[0]["wall_s_min"],
        "continuous_wall_s": next(
            r["wall_s_min"] for r in rows if r["workload"] == "continuous-items"
        ),
        "environment": {
            "cpus": os.cpu_count(),
            "load_avg_before": load_before,
            "load_avg_after": os.getloadavg(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "machine": platform.machine(),
            "processor": platform.processor(),
            "threads_used": 1,
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


def section(quick: bool, work: Path) -> dict[str, Any]:
    """The bench section: one repeat in quick mode, three in full."""
    from evalcliff.dev.bench.report import markdown

    result = bootstrap(1 if quick else 3)
    result["markdown"] = markdown(result).splitlines() + [""]
    return result
