"""`evalcliff report`: run base and candidate side by side, compare, render; verdict exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalcliff.cli.options import config_option, policy_option, suite_option


@click.command("report")
@click.option("--base", required=True, help="Base variant name (e.g. fp16).")
@click.option("--cand", required=True, help="Candidate variant name (e.g. q4).")
@suite_option
@config_option
@policy_option
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Report directory [default: reports/BASE-vs-CAND].",
)
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False),
    default="reports/runs",
    show_default=True,
    help="Where per-variant results are kept and reused.",
)
@click.option(
    "--jobs",
    type=int,
    default=2,
    show_default=True,
    help="Variants run at once; CPU threads are split between them.",
)
@click.option("--limit", type=int, default=None, help="Only the first N items of each slice.")
@click.option("--force", is_flag=True, help="Recompute runs even if matching ones exist.")
@click.option(
    "--divergence/--no-divergence",
    default=True,
    show_default=True,
    help="Token KL and top-1 agreement vs the base (hf variants only; teacher-forced).",
)
def command(
    base: str,
    cand: str,
    suite: str,
    config: str | None,
    policy: str | None,
    out: str | None,
    runs_dir: str,
    jobs: int,
    limit: int | None,
    force: bool,
    divergence: bool,
) -> None:
    """Run BASE and CAND over a suite, compare them, and write report.html + summary.json.

    Exits with the verdict: 0 GO, 1 NO-GO, 3 INCONCLUSIVE; 2 on bad input or a failed run
    (finished items are kept, and running the same command again resumes).
    """
    from evalcliff.compare import compare_files
    from evalcliff.runner.parallel import run_side_by_side

    out_dir = Path(out or f"reports/{base}-vs-{cand}")
    paths = run_side_by_side(
        [base, cand], suite, config, Path(runs_dir), jobs=jobs, limit=limit, force=force
    )
    div_path = None
    if divergence:
        from evalcliff.config.variants import resolve_variant
        from evalcliff.distribution.run import divergence_table, supports_divergence
        from evalcliff.suites.spec import load_suite

        vb, vc = resolve_variant(base, config), resolve_variant(cand, config)
        if supports_divergence(vb, vc):
            spec = load_suite(suite)
            div_path = divergence_table(
                vb, vc, spec, paths[base], paths[cand], Path(runs_dir) / spec.name / "divergence"
            )
    text, code, summary_path = compare_files(paths[base], paths[cand], policy, out_dir, div_path)
    click.echo(text)
    click.echo(f"report: {out_dir / 'report.html'}\nsummary: {summary_path}")
    sys.exit(code)
