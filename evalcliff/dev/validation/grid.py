"""The validation grid and its summaries: coverage, decision error rates, power."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import beta

from evalcliff.dev.validation.experiment import METHODS, Outcomes, run_scenario
from evalcliff.dev.validation.simulate import Scenario
from evalcliff.stats.intervals import wilson

N_VALUES = (30, 100, 300, 1000, 5000)
CLUSTER_SIZES = (1, 10, 30)
BASE_ACCS = (0.05, 0.5, 0.95)
FLIP_RATES = (0.01, 0.03, 0.1, 0.3)
POWER_N = (100, 300, 1000, 3000, 5000)
POWER_DROPS = tuple(k / 100 for k in range(1, 11))
POWER_FLIP, POWER_BASE = 0.15, 0.7
# The target band for 95% CIs, where n >= 100 and clusters >= 30.
BAND = (0.935, 0.965)
REQUIRED_N, REQUIRED_CLUSTERS = 100, 30
INFORMATIVE_BUCKETS = (0, 1, 5, 10, 20, 30, 50, 100)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """Simulation size: datasets per cell, bootstrap resamples per dataset, CI level,
    non-inferiority margin (fraction) and seed."""

    datasets: int = 400
    resamples: int = 2000
    confidence: float = 0.95
    margin: float = 0.02
    seed: int = 2024


def coverage_scenarios() -> list[Scenario]:
    """Every feasible (n, cluster size, base accuracy, flip rate) cell at true delta 0 and
    at delta = -flip/2 (three quarters of the flips regress)."""
    cells = []
    for n in N_VALUES:
        for m in CLUSTER_SIZES:
            for p in BASE_ACCS:
                for f in FLIP_RATES:
                    for delta in (0.0, -f / 2):
                        sc = Scenario(n, m, p, f, delta)
                        if sc.feasible():
                            cells.append(sc)
    return cells


def margin_scenarios(margin: float) -> list[Scenario]:
    """Cells at true delta = -margin (the hardest case for a false GO), base accuracy 0.5."""
    return [
        Scenario(n, m, 0.5, f, -margin)
        for n in N_VALUES
        for m in CLUSTER_SIZES
        for f in FLIP_RATES
        if f > margin
    ]


def power_scenarios() -> list[Scenario]:
    """True drops of 1-10 points at several n, independent items and clusters of 10."""
    return [
        Scenario(n, m, POWER_BASE, POWER_FLIP, -drop)
        for m in (1, 10)
        for n in POWER_N
        for drop in POWER_DROPS
    ]


def band_verdict(hits: int, total: int, band: tuple[float, float] = BAND) -> str:
    """'in' if the coverage estimate is in the band, 'mc' if outside but the band is still
    within its two-sided 99.9% Clopper-Pearson interval (Monte Carlo error), else 'out'."""
    rate = hits / total
    if band[0] <= rate <= band[1]:
        return "in"
    lo = beta.ppf(0.0005, hits, total - hits + 1) if hits > 0 else 0.0
    hi = beta.ppf(0.9995, hits + 1, total - hits) if hits < total else 1.0
    return "mc" if lo <= band[1] and hi >= band[0] else "out"


def cell_row(o: Outcomes, margin: float) -> dict[str, Any]:
    """One table row: the cell, its coverage per method, and the gate's decision rates."""
    sc = o.scenario
    total = len(o.informative)
    row: dict[str, Any] = {
        "n": sc.n,
        "cluster_size": sc.cluster_size,
        "clusters": sc.n_clusters,
        "base_acc": sc.base_acc,
        "flip_rate": sc.flip_rate,
        "delta": sc.delta,
        "datasets": total,
        "required": sc.n >= REQUIRED_N and sc.n_clusters >= REQUIRED_CLUSTERS,
        "mean_informative": float(np.mean(o.informative)),
        "mean_discordant": float(np.mean(o.discordant)),
    }
    for m in METHODS:
        hits = int(o.covered(m).sum())
        row[f"coverage_{m}"] = hits / total
        row[f"coverage_{m}_mc"] = wilson(hits, total)
        row[f"band_{m}"] = band_verdict(hits, total)
        row[f"no_go_{m}"] = float(np.mean(o.no_go(m, margin)))
        row[f"go_{m}"] = float(np.mean(o.go(m, margin)))
    return row


def run_all(
    scenarios: Iterable[Scenario], settings: Settings, progress: Progress | None = None
) -> list[Outcomes]:
    """Run each scenario with `settings`; `progress` gets a short line per scenario."""
    out = []
    todo = list(scenarios)
    for i, sc in enumerate(todo):
        out.append(
            run_scenario(
                sc, settings.datasets, settings.resamples, settings.confidence, settings.seed
            )
        )
        if progress is not None:
            progress(f"[{i + 1}/{len(todo)}] {sc}")
    return out


def by_informative(
    outcomes: Iterable[Outcomes], nonzero_delta: bool, clustered: bool | None = None
) -> list[dict[str, Any]]:
    """Coverage pooled over datasets, by the observed number of informative units (clusters,
    or items, with a nonzero difference): what the gate can see when it decides to warn.

    `clustered` keeps only clustered (True) or independent-item (False) cells. `miss_low`
    is the share of CIs lying entirely above the truth (the side of a false GO).
    """
    pooled: dict[int, dict[str, list[int]]] = {}
    for o in outcomes:
        if (o.scenario.delta != 0.0) != nonzero_delta:
            continue
        if clustered is not None and (o.scenario.cluster_size > 1) != clustered:
            continue
        bucket = np.searchsorted(INFORMATIVE_BUCKETS, o.informative, side="right") - 1
        above = o.low["percentile"] > o.scenario.delta + 1e-12
        for b in np.unique(bucket):
            sel = bucket == b
            entry = pooled.setdefault(int(b), {m: [0, 0] for m in (*METHODS, "miss_low")})
            for m in METHODS:
                entry[m][0] += int(o.covered(m)[sel].sum())
                entry[m][1] += int(sel.sum())
            entry["miss_low"][0] += int(above[sel].sum())
            entry["miss_low"][1] += int(sel.sum())
    rows = []
    for b in sorted(pooled):
        lo = INFORMATIVE_BUCKETS[b]
        hi = INFORMATIVE_BUCKETS[b + 1] - 1 if b + 1 < len(INFORMATIVE_BUCKETS) else None
        label = f"{lo}+" if hi is None else (f"{lo}" if hi == lo else f"{lo}-{hi}")
        row: dict[str, Any] = {"informative": label, "low": lo}
        for m in (*METHODS, "miss_low"):
            hits, total = pooled[b][m]
            row["datasets"] = total
            row[f"coverage_{m}" if m in METHODS else m] = hits / total if total else math.nan
        rows.append(row)
    return rows
