"""`evalcliff run`: one variant over a suite, per-item results to one parquet file."""

from __future__ import annotations

from pathlib import Path

import click

from evalcliff.cli.history import record_options, recorder
from evalcliff.cli.options import (
    build_options,
    config_option,
    limit_option,
    load_items_seeded,
    suite_option,
    unsandboxed_option,
)


@click.command("run")
@click.argument("variant")
@suite_option
@config_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Run artifact to write (.parquet, header inside) "
    "[default: reports/runs/SUITE/VARIANT.parquet, VARIANT.limitN.parquet with --limit].",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Item seed [default: the suite's; with --items, the build's, which must match].",
)
@limit_option
@build_options
@unsandboxed_option
@click.option("--force", is_flag=True, help="Recompute every item, even cached or finished ones.")
@record_options
def command(
    variant: str,
    suite: str,
    config: str | None,
    out: str | None,
    seed: int | None,
    limit: int | None,
    items_dir: str | None,
    tokenizer: str | None,
    allow_unsandboxed_code: bool,
    force: bool,
    record_db: str | None,
    record_tags: tuple[str, ...],
) -> None:
    """Run VARIANT (a built-in name or one defined in --config) over a suite.

    Every finished item is kept in the run's request cache, so an interrupted run, started
    again with the same arguments, resumes without recomputing finished items. A finished
    run is reused only when everything that decides its outputs is unchanged and it has no
    error rows; a served model (weights evalcliff cannot fingerprint) is asked again. A run
    whose every item failed exits 2 (its file is written, nothing goes to history).
    """
    from evalcliff.cli.progress import progress_callbacks
    from evalcliff.config.variants import resolve_variant
    from evalcliff.runner import run_variant
    from evalcliff.runner.identity import results_name
    from evalcliff.suites.spec import load_suite

    v = resolve_variant(variant, config)
    history = recorder(record_db, record_tags)
    spec = load_suite(suite)
    items, seed = load_items_seeded(spec, items_dir, tokenizer, seed)  # --items: its seed
    path = Path(out) if out else Path("reports/runs") / spec.name / results_name(variant, limit)
    with progress_callbacks(variant) as (on_total, on_item):
        outcome = run_variant(
            variant,
            v,
            spec,
            path,
            seed=seed,
            force=force,
            limit=limit,
            items=items,
            allow_unsandboxed=allow_unsandboxed_code,
            on_item=on_item,
            on_total=on_total,
        )
    h = outcome.header
    what = "reused a finished run" if outcome.reused else f"ran in {outcome.seconds:.1f}s"
    limited = f", limited run: {h.limit} per stratum" if h.limit is not None else ""
    click.echo(
        f"{click.style(variant)}: {h.n_items} items, {h.n_errors} errors{limited}, {what} "
        f"-> {outcome.results_path}"
    )
    if h.defaults_used and config:
        click.echo(f"{variant}: not set in {config}, defaults used: {', '.join(h.defaults_used)}")
    if h.n_items > 0 and h.n_errors == h.n_items:  # no data: a failed run, not a result
        from evalcliff.errors import EvalcliffError
        from evalcliff.results.io import read_run

        errors = read_run(outcome.results_path).results["error"].dropna()
        first = str(errors.iloc[0])[:200] if len(errors) else "?"
        kept = "" if history is None else "; not recorded in history"
        raise EvalcliffError(
            f"every item of {variant!r} failed ({h.n_errors} errors; first: {first!r}); "
            f"the run file is kept at {outcome.results_path}{kept}, and a rerun asks again"
        )
    if history is not None:
        history.record([outcome.results_path])
