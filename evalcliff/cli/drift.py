"""`evalcliff drift`: a variant's latest recorded run against a baseline; exit 0 stable,
1 drifted, 3 inconclusive, 2 bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalcliff.cli.history import db_option, db_path
from evalcliff.cli.options import policy_option
from evalcliff.errors import EvalcliffError


@click.command("drift")
@click.argument("variant")
@click.option("--baseline", "baseline_ref", required=True,
              help="A run id; a variant name (its pinned run, else its latest); or 'previous' "
              "(VARIANT's run before its latest).")  # fmt: skip
@db_option
@policy_option
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Directory for drift.json, drift.html, drift.prom [default: "
              "reports/drift/VARIANT].")  # fmt: skip
@click.option("--max-baseline-age-days", type=click.FloatRange(min=0), default=90.0,
              show_default=True, help="A baseline older than this (vs the latest run) is "
              "flagged stale.")  # fmt: skip
@click.option("--prom", "prom_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the Prometheus textfile here (e.g. node_exporter's "
              "textfile directory/evalcliff_drift.prom).")  # fmt: skip
@click.option("--mlflow", is_flag=True,
              help="Also log the review to MLflow (needs `pip install mlflow`; "
              "MLFLOW_TRACKING_URI as usual).")  # fmt: skip
def command(
    variant: str, baseline_ref: str, db: str | None, policy: str | None, out: str | None,
    max_baseline_age_days: float, prom_path: str | None, mlflow: bool,
) -> None:  # fmt: skip
    """Compare VARIANT's latest recorded run with a baseline using the gate's paired
    statistics and margins, list what changed, chart the trend; exit 0 stable, 1 drifted,
    3 inconclusive (2: bad input, e.g. differing suite builds).

    A slice drifts when it fails the non-inferiority rule against the baseline, or when the
    EWMA control chart on its weekly paired deltas alarms (slow decline).
    """
    from evalcliff.cli.options import writable_dir
    from evalcliff.drift import drift_review, write_outputs
    from evalcliff.drift.render import prometheus_text, write_atomic
    from evalcliff.gate import load_policy
    from evalcliff.history import HistoryStore
    from evalcliff.runner.identity import safe_name

    pol = load_policy(policy)
    path = db_path(db)
    if not path.is_file():
        raise EvalcliffError(f"--db {path}: no history database there (record runs with "
                             "`evalcliff history add` or `run/report --db`)")  # fmt: skip
    out_dir = writable_dir(Path(out or f"reports/drift/{safe_name(variant)}"), "--out")
    if mlflow:
        from evalcliff.drift.mlflow_export import require_mlflow

        require_mlflow()
    with HistoryStore(path) as store:
        report = drift_review(store, variant, baseline_ref, pol,
                              max_baseline_age_days=max_baseline_age_days)  # fmt: skip
    paths = write_outputs(report, out_dir)
    from evalcliff.report.ci import append_step_summary

    try:
        append_step_summary(paths["md"].read_text(encoding="utf-8"))
    except OSError as exc:
        click.echo(f"evalcliff: warning: cannot append to $GITHUB_STEP_SUMMARY: {exc}", err=True)
    if prom_path:
        write_atomic(Path(prom_path), prometheus_text(report))
    if mlflow:
        from evalcliff.drift.mlflow_export import log_report

        log_report(report)
    click.echo(f"DRIFT: {report.status.upper()}  {variant} run {report.run.id} "
               f"({report.run.at}) vs baseline run {report.baseline.id} "
               f"({report.baseline.variant}, {report.baseline.at})")  # fmt: skip
    for reason in report.reasons:
        click.echo(f"  - {reason}")
    for s in report.slices:
        d = "—" if s.delta is None else f"{100 * s.delta:+.1f}"
        ci = ("—" if s.ci_low is None or s.ci_high is None
              else f"[{100 * s.ci_low:+.1f}, {100 * s.ci_high:+.1f}]")  # fmt: skip
        click.echo(f"  {s.slice:<16} Δ {d:>6} pts {ci:<16} {s.status}"
                   f"{'  ALARM' if s.alarm else ''}")  # fmt: skip
    for c in report.changes:
        click.echo(f"  changed {c.kind}: {c.field}: {c.baseline!r} -> {c.latest!r}")
    for w in report.warnings:
        click.echo(f"  warning: {w}")
    click.echo(f"drift: {paths['json']}\npage: {paths['html']}")
    sys.exit(report.exit_code)
