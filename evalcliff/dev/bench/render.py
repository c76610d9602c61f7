"""Report-scale timing: statistics (`compare_runs`) and rendering (`render_report`) of a
synthetic comparison with many slices, e.g. 400 slices x 300 items (120k items).

Each slice has 12 strata (`len` x `depth`) of 25 items; the candidate loses a little
everywhere and a lot in one stratum of every tenth slice, so the report has flips,
failing slices and strata to show.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LENS = ("1k", "2k", "4k", "8k", "16k", "32k")
DEPTHS = ("0.1", "0.5")


def results_tables(n_slices: int, per_slice: int, seed: int = 0) -> tuple[pd.DataFrame, ...]:
    """Paired base/cand results tables (the results contract's columns)."""
    rng = np.random.default_rng(seed)
    n = n_slices * per_slice
    idx = np.arange(n)
    s = idx // per_slice
    k = idx % per_slice
    strata = np.array([f"len={ln},depth={d}" for ln in LENS for d in DEPTHS])
    stratum = strata[k % len(strata)]
    base_ok = rng.random(n) < 0.85
    drop = np.where((s % 10 == 0) & (k % len(strata) == len(strata) - 1), 0.6, 0.02)
    cand_ok = base_ok & (rng.random(n) >= drop) | (~base_ok & (rng.random(n) < 0.02))
    common = {
        "item_id": [f"s{a}-{b}" for a, b in zip(s, k, strict=True)],
        "suite": "bench",
        "slice": [f"slice_{a:03d}" for a in s],
        "stratum": stratum,
        "cluster_id": [f"s{a}-{b}" for a, b in zip(s, k, strict=True)],
        "prompt_hash": [f"h{i}" for i in idx],
        "target": "42",
        "error": None,
        "latency_s": 0.1,
        "catastrophic": False,
    }
    base = pd.DataFrame({**common, "output": np.where(base_ok, "42", "41"),
                         "score": base_ok.astype(float), "correct": base_ok})  # fmt: skip
    cand = pd.DataFrame({**common, "output": np.where(cand_ok, "42", "<b>x</b>"),
                         "score": cand_ok.astype(float), "correct": cand_ok})  # fmt: skip
    return base, cand


def render_timing(
    out_dir: Path, n_slices: int = 400, per_slice: int = 300, n_resamples: int | None = None
) -> dict[str, Any]:
    """Seconds for the statistics and for the report of `n_slices` x `per_slice` items,
    and the report's size in bytes (written to `out_dir/render-bench.html`)."""
    from evalcliff.gate import Policy, compare_runs
    from evalcliff.report import render_report

    base, cand = results_tables(n_slices, per_slice)
    policy = Policy() if n_resamples is None else Policy(n_resamples=n_resamples)
    t0 = time.perf_counter()
    summary = compare_runs(base, cand, policy)
    t1 = time.perf_counter()
    out = render_report(summary, base, cand, out_dir / "render-bench.html")
    t2 = time.perf_counter()
    return {
        "n_slices": n_slices,
        "items_per_slice": per_slice,
        "n_items": n_slices * per_slice,
        "n_resamples": policy.n_resamples,
        "stats_s": t1 - t0,
        "render_s": t2 - t1,
        "total_s": t2 - t0,
        "budget_s": 60.0,
        "report_bytes": out.stat().st_size,
    }


def render_markdown(r: dict[str, Any]) -> str:
    """One table of the report-scale timing."""
    ok = "within" if r["total_s"] <= r["budget_s"] else "OVER"
    return "\n".join(
        [
            f"## Report at scale: {r['n_slices']} slices",
            "",
            f"{r['n_slices']} slices x {r['items_per_slice']} items ({r['n_items']:,} items,"
            f" 12 strata per slice), {r['n_resamples']:,} resamples: statistics + report"
            f" **{r['total_s']:.1f} s** (budget {r['budget_s']:.0f} s: {ok}).",
            "",
            "| statistics s | report s | total s | report size |",
            "|---|---|---|---|",
            f"| {r['stats_s']:.1f} | {r['render_s']:.1f} | {r['total_s']:.1f} |"
            f" {r['report_bytes'] / 2**20:.2f} MiB |",
            "",
        ]
    )


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m evalcliff.dev.bench.render")
    ap.add_argument("--out", type=Path, default=Path("reports"))
    ap.add_argument("--slices", type=int, default=400)
    ap.add_argument("--items", type=int, default=300)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    res = render_timing(a.out, a.slices, a.items)
    print(json.dumps(res, indent=1))
    print(render_markdown(res))
