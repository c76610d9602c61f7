"""Compare two stored runs: pair, gate, write summary.json and report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalcliff.gate import EXIT_CODES, compare_runs, load_policy
from evalcliff.results import read_header, read_results


def compare_files(
    base_path: Path,
    cand_path: Path,
    policy_path: str | Path | None,
    out_dir: Path,
    divergence_path: Path | None = None,
) -> tuple[str, int, Path]:
    """Write `out_dir/summary.json` and `out_dir/report.html`; return (banner, exit code, path).

    Slice margins/weights default to those the base run's suite declared (its header),
    overridden by the policy. `divergence_path` (per-item token KL / top-1 agreement, see
    `evalcliff.distribution`) adds descriptive distribution metrics to every slice.
    """
    from evalcliff.report import render_report

    policy = load_policy(policy_path)
    base, cand = read_results(base_path), read_results(cand_path)
    base_h, cand_h = read_header(base_path), read_header(cand_path)
    defaults: dict[str, Any] = (base_h.get("suite") or {}).get("slices") or {}
    summary = compare_runs(base, cand, policy, defaults or None)
    if divergence_path is not None:
        import pandas as pd

        from evalcliff.distribution import attach_divergence

        attach_divergence(
            summary,
            pd.read_parquet(divergence_path),
            policy.n_resamples,
            policy.confidence,
            policy.seed,
        )
    summary["base"] = base_h
    summary["cand"] = cand_h
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, default=str))
    render_report(summary, base, cand, out_dir / "report.html")
    verdict = str(summary["verdict"])
    return banner(summary), EXIT_CODES[verdict], summary_path


def banner(summary: dict[str, Any]) -> str:
    """Terminal text: verdict, reasons, and one line per slice."""
    lines = [f"VERDICT: {str(summary['verdict']).upper()}"]
    lines += [f"  - {r}" for r in summary.get("reasons", [])]
    h = summary.get("headline") or {}

    def pts(x: Any) -> str:
        return "—" if x is None else f"{100 * x:+.1f}"

    if h:
        lines.append(
            f"  traffic-weighted Δ {pts(h.get('traffic_weighted_delta'))} pts "
            f"[{pts(h.get('ci_low'))}, {pts(h.get('ci_high'))}]; worst slice "
            f"{h.get('worst_slice')} Δ {pts(h.get('worst_delta'))} pts"
        )
    lines.append(f"  {'slice':<16}{'n':>5}{'base%':>8}{'cand%':>8}{'Δ pts':>8}  CI{'':<14}status")
    for s in summary.get("slices", []):

        def pct(x: Any) -> str:
            return "—" if x is None else f"{100 * x:.1f}"

        ci = f"[{pts(s.get('ci_low'))}, {pts(s.get('ci_high'))}]"
        lines.append(
            f"  {s['slice']:<16}{s['n']:>5}{pct(s['base_mean']):>8}{pct(s['cand_mean']):>8}"
            f"{pts(s['delta']):>8}  {ci:<16}{s['status']}"
        )
    return "\n".join(lines)
