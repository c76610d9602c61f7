"""`evalcliff compare`: two stored runs -> summary.json + report.html + verdict exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalcliff.cli.options import policy_option


@click.command("compare")
@click.option(
    "--base",
    "base_path",
    type=click.Path(dir_okay=False),
    required=True,
    help="Base variant results (.parquet or .jsonl).",
)
@click.option(
    "--cand",
    "cand_path",
    type=click.Path(dir_okay=False),
    required=True,
    help="Candidate variant results (.parquet or .jsonl).",
)
@policy_option
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Directory for report.html and summary.json.",
)
@click.option(
    "--divergence",
    "divergence_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Per-item token KL / top-1 agreement parquet (written by `report`).",
)
def command(
    base_path: str, cand_path: str, policy: str | None, out: str, divergence_path: str | None
) -> None:
    """Compare CAND against BASE on paired items; exit 0 GO, 1 NO-GO, 3 INCONCLUSIVE.

    Works on stored results alone, with no model. Items pair on item_id; a differing
    prompt_hash for the same id, suite builds that differ on a slice, or a run whose every
    item errored are errors (exit 2). Items that errored in either run leave the pairing.
    """
    from evalcliff.compare import compare_files

    div = Path(divergence_path) if divergence_path else None
    verdict, code, summary_path = compare_files(
        Path(base_path), Path(cand_path), policy, Path(out), div
    )
    click.echo(verdict)
    sys.exit(code)
