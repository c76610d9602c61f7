"""Simulated weekly histories: synthetic run artifacts for tests and demos, and the
calibration study of the control chart (false-alarm rate, detection delay).

Item model (per slice): `n` items; a share `flaky` answer right with a probability drawn
from U(0.2, 0.8) each week (nondeterministic serving), the rest are stable: right with
probability 1 − `stable_flip` (a share `accuracy` of them) or `stable_flip`. A decline of δ
(fraction) scales every item's probability by (1 − δ / mean), so the slice mean drops by δ.

    python -m evalcliff.drift.simulate [--histories 2000] [--weeks 52] [--items 400]

prints the chart's per-week and per-year false-alarm rates on stable weeks and its detection
delays for a 0.5 pt/week decline and for steps, beside the weekly gate's.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import norm

from evalcliff.drift.control import DEFAULT_CHART, EwmaChart, standardize
from evalcliff.schema import GenerationSettings, SliceManifest, SuiteManifest
from evalcliff.schema.run import RESULT_COLUMNS, ModelIdentity, RunArtifact, RunHeader

FloatArray = npt.NDArray[np.float64]


def item_probabilities(
    n: int,
    rng: np.random.Generator,
    accuracy: float = 0.8,
    flaky: float = 0.05,
    stable_flip: float = 0.01,
) -> FloatArray:
    """Per-item probability of a right answer in a stable week (see the module docstring)."""
    p = np.where(rng.random(n) < accuracy, 1.0 - stable_flip, stable_flip)
    is_flaky = rng.random(n) < flaky
    p[is_flaky] = rng.uniform(0.2, 0.8, int(is_flaky.sum()))
    return p


def declined(p: FloatArray, drop: float | FloatArray) -> FloatArray:
    """Probabilities whose mean is lower by `drop` (a fraction; broadcasts over a leading
    axis of drops)."""
    d = np.asarray(drop, dtype=np.float64)[..., None] if np.ndim(drop) else drop
    out: FloatArray = np.clip(p * (1.0 - d / p.mean(axis=-1, keepdims=True)), 0.0, 1.0)
    return out


# -- synthetic run artifacts (tests, demos) ---------------------------------------------


def synthetic_manifest(slices: dict[str, int], margin: float = 0.02) -> SuiteManifest:
    """A suite manifest for synthetic results: `slices` maps name -> item count."""
    return SuiteManifest(
        name="synthetic",
        version=1,
        seed=0,
        content_hash="0" * 16,
        n_items=sum(slices.values()),
        slices={
            name: SliceManifest(
                kind="generator", source="synthetic", scorer="exact",
                generation=GenerationSettings(), weight=1.0 / len(slices), margin=margin, n=n,
                items_hash=f"{n:016d}",
            )
            for name, n in slices.items()
        },
    )  # fmt: skip


def synthetic_artifact(
    manifest: SuiteManifest,
    correct: dict[str, npt.NDArray[np.bool_]],
    *,
    variant: str = "prod",
    at: datetime | None = None,
    fingerprint: str | None = None,
    settings: dict[str, str] | None = None,
    path: Path = Path("synthetic.parquet"),
) -> RunArtifact:
    """A run artifact with one row per item of `correct` (slice -> right/wrong per item)."""
    rows = []
    for name, hits in correct.items():
        for i, ok in enumerate(hits):
            rows.append({
                "item_id": f"{name}/{i:05d}", "suite": manifest.name, "slice": name,
                "stratum": f"bucket={i % 4}", "cluster_id": f"{name}/{i:05d}",
                "prompt_hash": f"{name}-{i:05d}", "output": "1" if ok else "0", "target": "1",
                "score": float(ok), "correct": bool(ok), "catastrophic": False, "error": None,
                "latency_s": 0.01, "ttft_s": None, "output_tokens": 1.0,
            })  # fmt: skip
    df = pd.DataFrame(rows)
    stamp = at.isoformat() if at is not None else None
    header = RunHeader(
        run_key=f"sim-{variant}-{stamp}",
        variant=variant,
        backend="openai",
        settings=dict(settings or {}),
        model=ModelIdentity(weights_fingerprint=fingerprint, model_name=variant),
        suite=manifest,
        started_at=stamp,
        finished_at=stamp,
        n_items=len(df),
    )
    return RunArtifact(path=path, header=header, results=df.astype(RESULT_COLUMNS))


def weekly_history(
    slices: dict[str, int],
    drops: Callable[[str, int], float],
    *,
    weeks: int,
    seed: int = 0,
    start: datetime = datetime(2026, 1, 5, 3, 0, tzinfo=UTC),
    variant: str = "prod",
    fingerprint: Callable[[int], str | None] = lambda week: None,
    flaky: float = 0.05,
    stable_flip: float = 0.01,
    margin: float = 0.02,
) -> list[tuple[datetime, RunArtifact]]:
    """Weekly synthetic runs of one served variant, weeks 1..`weeks` (week 1 on `start`):
    slice `s` in week `w` is lower by drops(s, w) (fraction) than in a stable week."""
    rng = np.random.default_rng(seed)
    manifest = synthetic_manifest(slices, margin)
    p = {name: item_probabilities(n, rng, flaky=flaky, stable_flip=stable_flip)
         for name, n in slices.items()}  # fmt: skip
    out = []
    for week in range(1, weeks + 1):
        at = start + timedelta(weeks=week - 1)
        correct = {name: rng.random(len(q)) < (declined(q, drops(name, week))
                                               if drops(name, week) else q)
                   for name, q in p.items()}  # fmt: skip
        art = synthetic_artifact(manifest, correct, variant=variant, at=at,
                                 fingerprint=fingerprint(week),
                                 path=Path(f"{variant}-week{week:02d}.parquet"))  # fmt: skip
        out.append((at, art))
    return out


# -- calibration ---------------------------------------------------------------------


def simulate_weeks(
    drops: Callable[[int], float],
    *,
    histories: int,
    weeks: int,
    items: int,
    seed: int = 0,
) -> tuple[FloatArray, FloatArray]:
    """(delta, se), each (histories, weeks): each week's paired delta against the week-0
    baseline run and its standard error, for a slice declining by drops(week) (fraction)."""
    rng = np.random.default_rng(seed)
    p = np.stack([item_probabilities(items, rng) for _ in range(histories)])
    base = rng.random(p.shape) < p
    delta = np.empty((histories, weeks))
    se = np.empty((histories, weeks))
    for t in range(weeks):
        q = declined(p, drops(t + 1)) if drops(t + 1) else p
        d = (rng.random(p.shape) < q).astype(np.float64) - base
        delta[:, t] = d.mean(axis=1)
        se[:, t] = d.std(axis=1, ddof=1) / np.sqrt(items)
    return delta, se


def gate_fails(delta: FloatArray, se: FloatArray, margin: float, confidence: float) -> FloatArray:
    """The weekly gate's fail rule with a normal CI: ci_high < −margin."""
    z = float(norm.ppf(0.5 + confidence / 2))
    return (delta + z * se < -margin).astype(np.float64)


def first_week(flags: npt.NDArray[np.bool_] | FloatArray, onset: int) -> FloatArray:
    """Weeks from `onset` (1-based week of the change) to the first flag at or after it,
    per history; inf when never flagged."""
    f = np.asarray(flags, dtype=bool)[:, onset - 1 :]
    hit = f.any(axis=1)
    return np.where(hit, f.argmax(axis=1).astype(np.float64), np.inf)


def calibration_table(
    histories: int = 2000,
    weeks: int = 52,
    items: int = 400,
    margin: float = 0.02,
    chart: EwmaChart = DEFAULT_CHART,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """The chart's and the gate's false-alarm rates and detection delays (weeks)."""
    out: dict[str, dict[str, float]] = {}
    delta, se = simulate_weeks(lambda t: 0.0, histories=histories, weeks=weeks, items=items,
                               seed=seed)  # fmt: skip
    _, _, alarm = chart.run(standardize(delta, se))
    gate = gate_fails(delta, se, margin, 0.95)
    out["stable"] = {
        "chart_alarm_per_week": float(alarm.mean()),
        "chart_any_alarm_in_horizon": float(alarm.any(axis=1).mean()),
        "gate_fail_per_week": float(gate.mean()),
        "gate_any_fail_in_horizon": float((gate > 0).any(axis=1).mean()),
    }
    scenarios: dict[str, tuple[Callable[[int], float], int]] = {
        "decline_0.5pt_per_week": (lambda t: 0.005 * t, 1),
        "step_2pt_at_week_5": (lambda t: 0.02 if t >= 5 else 0.0, 5),
        "step_5pt_at_week_5": (lambda t: 0.05 if t >= 5 else 0.0, 5),
    }
    for name, (drops, onset) in scenarios.items():
        delta, se = simulate_weeks(drops, histories=histories, weeks=weeks, items=items,
                                   seed=seed + 1)  # fmt: skip
        _, _, alarm = chart.run(standardize(delta, se))
        chart_delay = first_week(alarm, onset)
        gate_delay = first_week(gate_fails(delta, se, margin, 0.95) > 0, onset)
        either = np.minimum(chart_delay, gate_delay)
        out[name] = {}
        for label, d in (("chart", chart_delay), ("gate", gate_delay), ("either", either)):
            out[name][f"{label}_median_weeks"] = float(np.median(d))
            out[name][f"{label}_p90_weeks"] = float(np.sort(d)[int(0.9 * (len(d) - 1))])
            out[name][f"{label}_caught_in_horizon"] = float(np.isfinite(d).mean())
    return out


def pipeline_check(
    histories: int, weeks: int, items: int, margin: float, seed: int = 1000
) -> dict[str, float]:
    """The stable-week false-alarm rate through the real pipeline: each simulated history is
    recorded in a history db and reviewed with `drift_review` (the gate's bootstrap CIs)."""
    import tempfile

    from evalcliff.drift.review import drift_review
    from evalcliff.gate import Policy
    from evalcliff.history import HistoryStore

    policy = Policy(n_resamples=2000, margin=margin)
    alarms: list[list[bool]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for h in range(histories):
            runs = weekly_history({"slice": items}, lambda s, w: 0.0, weeks=weeks + 1,
                                  seed=seed + h, margin=margin)  # fmt: skip
            with HistoryStore(Path(tmp) / f"h{h}.db") as store:
                for at, art in runs:
                    store.add(art, at=at)
                store.pin(1)
                report = drift_review(store, "prod", "prod", policy)
            alarms.append([p.alarm for p in report.trend])
    a = np.array(alarms, dtype=bool)
    return {"chart_alarm_per_week": float(a.mean()),
            "chart_any_alarm_in_horizon": float(a.any(axis=1).mean())}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evalcliff.drift.simulate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--histories", type=int, default=2000)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--items", type=int, default=400, help="items per slice")
    ap.add_argument("--margin", type=float, default=0.02)
    ap.add_argument("--lam", type=float, default=DEFAULT_CHART.lam)
    ap.add_argument("--limit", type=float, default=DEFAULT_CHART.limit)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pipeline", type=int, default=0, metavar="N",
                    help="instead: N stable histories through drift_review (bootstrap CIs)")
    a = ap.parse_args(argv)
    if a.pipeline:
        row = pipeline_check(a.pipeline, a.weeks, a.items, a.margin)
        print(f"drift_review on {a.pipeline} stable histories x {a.weeks} weeks, {a.items} "
              f"items: {row}")  # fmt: skip
        return
    chart = EwmaChart(lam=a.lam, limit=a.limit)
    table = calibration_table(a.histories, a.weeks, a.items, a.margin, chart, a.seed)
    print(f"EWMA lambda={chart.lam} L={chart.limit}; {a.histories} histories x {a.weeks} "
          f"weeks, {a.items} items per slice, gate margin {a.margin}")  # fmt: skip
    for name, row in table.items():
        print(name)
        for k, v in row.items():
            print(f"  {k:<32} {v:.4f}" if k.startswith(("chart_a", "gate_")) and "weeks"
                  not in k else f"  {k:<32} {v:g}")  # fmt: skip
    print("delays: weeks from the change's first week to the first flag (0 = that week)")


if __name__ == "__main__":
    main()
