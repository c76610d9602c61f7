"""`evalcliff run`: one variant over a suite, per-item results to a parquet file."""

from __future__ import annotations

from pathlib import Path

import click

from evalcliff.cli.options import config_option, suite_option


@click.command("run")
@click.argument("variant")
@suite_option
@config_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Results file to write (.parquet); its header goes to <stem>.header.json.",
)
@click.option("--seed", type=int, default=None, help="Item seed (default: the suite's).")
@click.option("--limit", type=int, default=None, help="Only the first N items of each slice.")
@click.option("--force", is_flag=True, help="Recompute even if a matching finished run exists.")
def command(
    variant: str,
    suite: str,
    config: str | None,
    out: str,
    seed: int | None,
    limit: int | None,
    force: bool,
) -> None:
    """Run VARIANT (a built-in name or one defined in --config) over a suite.

    Every finished item is kept in the variant's request cache, so an interrupted run,
    started again with the same arguments, resumes without recomputing finished items.
    """
    from evalcliff.config.variants import resolve_variant
    from evalcliff.runner import run_variant
    from evalcliff.suites.spec import load_suite

    v = resolve_variant(variant, config)
    outcome = run_variant(
        variant, v, load_suite(suite), Path(out), seed=seed, force=force, limit=limit
    )
    what = "reused" if outcome.reused else f"ran in {outcome.seconds:.1f}s"
    click.echo(
        f"{variant}: {outcome.n_items} items ({outcome.n_errors} errors), {what} "
        f"-> {outcome.results_path}"
    )
