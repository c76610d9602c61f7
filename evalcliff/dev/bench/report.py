"""The benchmark's Markdown report."""

from __future__ import annotations

from typing import Any


def markdown(r: dict[str, Any]) -> str:
    """Tables of timings and the ours-vs-scipy ratios, with what exactly was compared."""
    st, env = r["setup"], r["environment"]
    lines = [
        "## Bootstrap speed",
        "",
        "`make bench` (`python -m evalcliff.dev.bench`). Paired percentile bootstrap of the mean"
        f" difference, {st['n_resamples']:,} resamples, 95% CI; one thread. Machine:"
        f" {env['cpus']} CPUs ({env['machine']}), load average before/after"
        f" {env['load_avg_before'][0]:.1f}/{env['load_avg_after'][0]:.1f} (other work on the"
        f" machine inflates wall times); numpy {env['numpy']}, scipy {env['scipy']}.",
        "",
        f"**Headline**: {st['n_items']:,} items in {st['n_slices']} slices, 0/1 scores,"
        f" {st['n_resamples']:,} resamples per slice: **{r['headline_wall_s']:.3f} s** wall"
        f" (budget {r['budget_s']:.0f} s:"
        f" {'within' if r['headline_wall_s'] <= r['budget_s'] else 'OVER'});"
        f" continuous scores (every difference distinct): **{r['continuous_wall_s']:.2f} s**"
        f" ({'within' if r['continuous_wall_s'] <= r['budget_s'] else 'OVER'} the"
        f" {r['budget_s']:.0f} s budget).",
        "",
        "| what | workload | items | slices | wall s (min) | wall s (median) | CPU s |"
        " ns per resample-item |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        lines.append(
            f"| {row['label']} | {row['workload']} | {row['items']:,} | {row['slices']} |"
            f" {row['wall_s_min']:.3f} | {row['wall_s_median']:.3f} | {row['cpu_s_min']:.3f} |"
            f" {row['ns_per_resample_item']:.3g} |"
        )
    lines += [
        "",
        "## Ours vs scipy.stats.bootstrap",
        "",
        f"scipy (`paired=True, method='percentile', vectorized=True, batch={st['scipy_batch']}`,"
        " statistic `mean(cand - base)`) is timed on the first"
        f" {st['scipy_slices']} slices ({st['scipy_slices'] * st['n_items'] // st['n_slices']:,}"
        f" items) with the same data and the same {st['n_resamples']:,} resamples: the full"
        " workload would take it minutes. Our function is timed on that same subset in the"
        " same run (ratio 'same workload'), and scipy's time is also scaled linearly to the"
        " full workload (its cost is linear in resamples x items) and divided by our measured"
        " full-workload time ('extrapolated'). Our cost is not linear in items for 0/1"
        " scores (see evalcliff/stats/resample.py), so the two ratios differ.",
        "",
        "| workload | ratio, same workload | ratio, scipy extrapolated to full |"
        " slice-0 CI ours | slice-0 CI scipy |",
        "|---|---|---|---|---|",
    ]
    for c in r["scipy_checks"]:
        ours_ci = ", ".join(f"{100 * x:+.2f}" for x in c["slice0_ci_ours"])
        sp_ci = ", ".join(f"{100 * x:+.2f}" for x in c["slice0_ci_scipy"])
        lines.append(
            f"| {c['workload']} | {c['ratio_same_workload']:.0f}x |"
            f" {c['ratio_scipy_extrapolated_to_full']:.0f}x | [{ours_ci}] pts | [{sp_ci}] pts |"
        )
    lines += [
        "",
        "compare_runs (end to end) adds pairing, the catastrophic-rate bootstrap and two"
        " strata per slice. The continuous-score row is the worst case (every difference"
        " distinct, so no grouping helps) and is run"
        f" {r.get('threaded', [{}])[0].get('repeats', 1)} time(s), minimum kept.",
        "",
    ]
    return "\n".join(lines)
