"""`python -m evalcliff.dev.bench [--out DIR] [--quick]`: bootstrap speed, ours vs scipy.

Writes DIR/bench.json and DIR/bench.md (DIR defaults to reports/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from evalcliff.dev.bench.report import markdown
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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the reports; returns the exit code."""
    ap = argparse.ArgumentParser(prog="python -m evalcliff.dev.bench")
    ap.add_argument("--out", type=Path, default=Path("reports"))
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
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
        reps = a.repeats if w.name != "continuous-items" else 1
        full = timed(ours(w, range(N_SLICES), N_RESAMPLES), reps)
        rows.append(_row("evalcliff paired_bootstrap", w.name, N_ITEMS, N_SLICES, full))
        if w.clusters is not None:
            continue  # scipy.stats.bootstrap has no cluster resampling
        sub = range(SCIPY_SLICES)
        print(f"{w.name}: ours and scipy on {SCIPY_SLICES} slices", file=sys.stderr)
        small = timed(ours(w, sub, N_RESAMPLES), a.repeats)
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
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bench.json").write_text(json.dumps(result, indent=1))
    (a.out / "bench.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
