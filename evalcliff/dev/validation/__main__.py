"""`python -m evalcliff.dev.validation [--datasets N] [--resamples B] [--jobs J] [--out DIR]`"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from evalcliff.dev.validation.analysis import summarize
from evalcliff.dev.validation.experiment import Outcomes, run_scenario
from evalcliff.dev.validation.grid import (
    Settings,
    coverage_scenarios,
    margin_scenarios,
    power_scenarios,
)
from evalcliff.dev.validation.render import write_all
from evalcliff.dev.validation.simulate import KAPPA, Scenario
from evalcliff.stats.power import plan_items


def _plan_scenarios(margin: float) -> list[tuple[str, Scenario, float]]:
    """Scenarios sized by `plan_items`; the simulated P(GO) should be close to the power."""
    out = []
    for f, d, m in ((0.1, 0.0, 1), (0.05, -0.01, 1), (0.1, 0.0, 10)):
        # Intra-cluster correlation of the differences under the simulation model at delta 0:
        # E[f_c^2] E[(1 - 2 s_c)^2] / f with Beta(mean, KAPPA) draws.
        icc = 0.0 if m == 1 else (f * (1 - f) / (KAPPA + 1) + f * f) / (KAPPA + 1) / f
        plan = plan_items(margin, f, d, 0.8, 0.95, m, icc)
        label = f"f={f:g}, Δ={d:+g}, cluster {m}, icc {icc:.3f}"
        out.append((label, Scenario(plan.items, m, 0.5, f, d), 0.8))
    return out


def _run(args: tuple[Scenario, Settings]) -> Outcomes:
    sc, st = args
    return run_scenario(sc, st.datasets, st.resamples, st.confidence, st.seed)


def main(argv: list[str] | None = None) -> int:
    """Run the whole study and write the reports; returns the process exit code."""
    ap = argparse.ArgumentParser(prog="python -m evalcliff.dev.validation")
    ap.add_argument("--datasets", type=int, default=400, help="datasets per cell")
    ap.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", type=Path, default=Path("reports"))
    a = ap.parse_args(argv)
    st = Settings(datasets=a.datasets, resamples=a.resamples, seed=a.seed)
    plans = _plan_scenarios(st.margin)
    groups = {
        "coverage": coverage_scenarios(),
        "margin": margin_scenarios(st.margin),
        "power": power_scenarios(),
        "plan": [sc for _, sc, _ in plans],
    }
    todo = [(sc, st) for scs in groups.values() for sc in scs]
    start = time.perf_counter()
    results: list[Outcomes] = []
    with ProcessPoolExecutor(max_workers=a.jobs) if a.jobs > 1 else _Serial() as ex:
        for i, res in enumerate(ex.map(_run, todo)):
            results.append(res)
            if (i + 1) % 25 == 0 or i + 1 == len(todo):
                el = time.perf_counter() - start
                print(f"{i + 1}/{len(todo)} scenarios, {el:.0f} s", file=sys.stderr)
    it = iter(results)
    parts = {k: [next(it) for _ in v] for k, v in groups.items()}
    checks: list[dict[str, Any]] = [
        {
            "label": label,
            "items": sc.n,
            "p_go": float(o.go("percentile", st.margin).mean()),
            "power": power,
        }
        for (label, sc, power), o in zip(plans, parts["plan"], strict=True)
    ]
    summary = summarize(parts["coverage"], parts["margin"], parts["power"], checks, st)
    summary["elapsed_s"] = time.perf_counter() - start
    summary["total_datasets"] = len(todo) * st.datasets
    for path in write_all(summary, a.out):
        print(path)
    return 0


class _Serial:
    """A stand-in executor that maps in this process."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Any, items: list[Any]) -> Any:
        return map(fn, items)


if __name__ == "__main__":
    sys.exit(main())
