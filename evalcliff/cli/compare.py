"""`evalcliff compare`: two stored runs -> summary.json + report.html + verdict exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalcliff.cli.options import policy_option

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: print summary.json on stdout (the verdict banner goes to stderr).",
)


def echo_outcome(text: str, summary_path: Path, output_format: str, *extra: str) -> None:
    """The banner (and `extra` lines) on stdout, or with --format json the summary on
    stdout and the rest on stderr, so a pipeline can parse stdout as it is."""
    if output_format == "json":
        for line in (text, *extra):
            click.echo(line, err=True)
        click.echo(summary_path.read_text(encoding="utf-8"))
    else:
        for line in (text, *extra):
            click.echo(line)


@click.command("compare")
@click.option(
    "--base",
    "base_path",
    type=click.Path(),
    required=True,
    help="Base variant results (.parquet or .jsonl), or lm-eval --log_samples output "
    "(a samples_*.jsonl file or its directory).",
)
@click.option(
    "--cand",
    "cand_path",
    type=click.Path(),
    required=True,
    help="Candidate variant results, in the same forms as --base.",
)
@policy_option
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Directory for report.html, summary.json, junit.xml and summary.md.",
)
@click.option(
    "--divergence",
    "divergence_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Per-item token KL / top-1 agreement parquet (written by `report`).",
)
@click.option(
    "--metric",
    default=None,
    help="lm-eval inputs: the per-sample metric used as score, NAME or NAME,FILTER "
    "(e.g. exact_match,flexible-extract) [default: each task's primary metric, first filter].",
)
@format_option
def command(
    base_path: str,
    cand_path: str,
    policy: str | None,
    out: str,
    divergence_path: str | None,
    metric: str | None,
    output_format: str,
) -> None:
    """Compare CAND against BASE on paired items; exit 0 GO, 1 NO-GO, 3 INCONCLUSIVE.

    Works on stored results alone, with no model. Items pair on item_id; a differing
    prompt_hash for the same id, suite builds that differ on a slice, or a run whose every
    item errored are errors (exit 2). Items that errored in either run leave the pairing.
    lm-eval --log_samples output of two models compares directly: one slice per task,
    items paired on doc_id, lm-eval's prompt hashes checked. Runs written by `report
    --sequential` carry their design and are judged by it (repeated CIs at each slice's
    stopping look). Also writes junit.xml (one testcase per slice) and summary.md, appended
    to $GITHUB_STEP_SUMMARY when set.
    """
    from evalcliff.compare import compare_files

    div = Path(divergence_path) if divergence_path else None
    verdict, code, summary_path = compare_files(
        Path(base_path), Path(cand_path), policy, Path(out), div, metric
    )
    echo_outcome(verdict, summary_path, output_format, f"report: {Path(out) / 'report.html'}")
    sys.exit(code)
