"""Items to a decision: a paired per-slice test against an unpaired one, same margin and power.

Both decide non-inferiority of a 0/1 slice (candidate mean - base mean > -margin) with a
two-sided (1 - a) CI and power `power` at a true difference of 0:
- paired (what the gate does): Var(cand - base) per item is the flip rate f (both directions),
  n = ((z_{1-a/2} + z_power) * sqrt(f) / margin)^2 items, each run by both variants
  (`evalcliff.stats.power.plan_items`);
- unpaired (two independent samples, e.g. lm-eval's z-test between two runs): the variance of
  a difference of two means is 2 p (1 - p) / n for accuracy p,
  n = ((z_{1-a/2} + z_power) * sqrt(2 p (1 - p)) / margin)^2 items per variant.
The ratio is 2 p (1 - p) / f: pairing removes the between-item variance that both runs share.
A simulation checks that the planned paired size reaches its power.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import norm

from evalcliff.stats.power import plan_items

# (base accuracy, flip rate): what quantized models show per slice (a few % of items flip).
SCENARIOS = [(0.7, 0.02), (0.7, 0.05), (0.5, 0.05), (0.7, 0.10), (0.9, 0.05), (0.5, 0.15)]
MARGINS = (0.02, 0.05)


def unpaired_items(p: float, margin: float, power: float = 0.8, confidence: float = 0.95) -> int:
    """Items per variant for an unpaired two-sample test of non-inferiority at a true
    difference of 0 (accuracy `p` in both)."""
    z = float(norm.ppf(1 - (1 - confidence) / 2)) + float(norm.ppf(power))
    return math.ceil((z * math.sqrt(2 * p * (1 - p)) / margin) ** 2)


def simulated_power(
    p: float, flip: float, margin: float, n: int, reps: int, seed: int = 0
) -> float:
    """P(paired normal CI low > -margin) at a true difference of 0, by simulation: each item
    flips down with probability flip/2 and up with flip/2 (within the base's limits)."""
    rng = np.random.default_rng(seed)
    z = float(norm.ppf(0.975))
    down = rng.binomial(n, flip / 2, size=reps)
    up = rng.binomial(n, flip / 2, size=reps)
    mean = (up - down) / n
    var = (up + down) / n - mean**2
    low = mean - z * np.sqrt(np.maximum(var, 0.0) / n)
    return float(np.mean(low > -margin))


def decision(quick: bool) -> dict[str, Any]:
    """Paired vs unpaired items for each scenario and margin (power 0.8, 95% CIs)."""
    rows = []
    for margin in MARGINS:
        for p, flip in SCENARIOS:
            paired = plan_items(margin, flip).items
            unpaired = unpaired_items(p, margin)
            rows.append(
                {
                    "margin": margin,
                    "base_accuracy": p,
                    "flip_rate": flip,
                    "paired_items": paired,
                    "unpaired_items_per_variant": unpaired,
                    "ratio": unpaired / paired,
                    "paired_simulated_power": simulated_power(
                        p, flip, margin, paired, 2000 if quick else 20000
                    ),
                }
            )
    return {
        "rows": rows,
        "sequential": sequential_rows(quick),
        "power": 0.8,
        "confidence": 0.95,
        "goal_ratio": 10.0,
    }


def sequential_rows(quick: bool, looks: int = 4) -> list[dict[str, Any]]:
    """The 4-look design (evalcliff.stats.sequential) against the fixed-n plan, simulated:
    P(pass), P(fail) and mean items at true differences 0, -m/2, -m and -2m."""
    from evalcliff.stats.sequential import sequential_plan, simulate_sequential

    reps = 2000 if quick else 20000
    out = []
    for margin, flip in ((0.02, 0.05), (0.05, 0.10), (0.05, 0.15)):
        plan = sequential_plan(margin, flip, looks)
        for delta in (0.0, -margin / 2, -margin, -2 * margin):
            seq = simulate_sequential(margin, flip, delta, plan.max_items, looks, reps, seed=1)
            fix = simulate_sequential(margin, flip, delta, plan.fixed_items, 1, reps, seed=1)
            out.append(
                {
                    "margin": margin,
                    "flip_rate": flip,
                    "true_delta": delta,
                    "looks": looks,
                    "max_items": plan.max_items,
                    "fixed_items": plan.fixed_items,
                    "seq_p_pass": seq.p_pass,
                    "seq_p_fail": seq.p_fail,
                    "seq_mean_items": seq.mean_items,
                    "fixed_p_pass": fix.p_pass,
                    "fixed_p_fail": fix.p_fail,
                    "items_saved": 1.0 - seq.mean_items / plan.fixed_items,
                    "reps": reps,
                }
            )
    return out


def markdown(r: dict[str, Any]) -> list[str]:
    """The section's table."""
    lines = [
        "## Items to a decision: paired vs unpaired",
        "",
        "Items needed to show non-inferiority at power 0.8 with 95% CIs when the true"
        " difference is 0. Paired: the gate's per-slice test (variance = flip rate);"
        " unpaired: two independent samples (variance 2p(1-p)). Goal: >= 10x fewer items"
        " paired. The last column simulates the paired plan's power.",
        "",
        "| margin | base accuracy | flip rate | paired items | unpaired items (per variant) |"
        " ratio | paired power (sim.) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        lines.append(
            f"| {row['margin']:.2f} | {row['base_accuracy']:.2f} | {row['flip_rate']:.2f} |"
            f" {row['paired_items']:,} | {row['unpaired_items_per_variant']:,} |"
            f" {row['ratio']:.1f}x | {row['paired_simulated_power']:.3f} |"
        )
    lines += [
        "",
        "### Sequential mode (opt-in design, `evalcliff.stats.sequential`)",
        "",
        "Four equal looks with O'Brien-Fleming bounds (one-sided 2.5% per direction, as the"
        " fixed gate's 95% CI), sized to the same power; simulated 0/1 slices"
        f" ({r['sequential'][0]['reps']:,} per row). 'saved' = 1 - mean items / fixed-n items.",
        "",
        "| margin | flip rate | true delta | max / fixed items | P(pass) seq / fixed |"
        " P(fail) seq / fixed | mean items | saved |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for q in r["sequential"]:
        lines.append(
            f"| {q['margin']:.2f} | {q['flip_rate']:.2f} | {q['true_delta']:+.3f} |"
            f" {q['max_items']:,} / {q['fixed_items']:,} |"
            f" {q['seq_p_pass']:.3f} / {q['fixed_p_pass']:.3f} |"
            f" {q['seq_p_fail']:.3f} / {q['fixed_p_fail']:.3f} |"
            f" {q['seq_mean_items']:.0f} | {100 * q['items_saved']:.0f}% |"
        )
    return lines + [""]


def section(quick: bool, work: Path) -> dict[str, Any]:
    """The bench section (fewer simulated datasets in quick mode)."""
    result = decision(quick)
    result["markdown"] = markdown(result)
    return result
