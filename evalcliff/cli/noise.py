"""`evalcliff noise`: the A/A noise floor — a variant against an identical copy of itself."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalcliff.cli.options import config_option, load_items, policy_option, suite_option


@click.command("noise")
@click.argument("variant")
@suite_option
@config_option
@policy_option
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Batch size of the copy (default: the variant's). A different batch size exposes "
    "padding/kernel nondeterminism in the engine.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Report directory [default: reports/noise-VARIANT].",
)
@click.option(
    "--runs-dir", type=click.Path(file_okay=False), default="reports/runs", show_default=True
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only N items per stratum.")
def command(
    variant: str,
    suite: str,
    config: str | None,
    policy: str | None,
    batch_size: int | None,
    out: str | None,
    runs_dir: str,
    limit: int | None,
) -> None:
    """Run VARIANT twice (the second time as an identical copy with its own cache) and
    report the flips between them: how noisy the serving engine is on its own.

    Any flip here is noise, not quantization; the exit code is the A/A verdict (0 GO).
    """
    from evalcliff.compare import compare_files
    from evalcliff.config.variants import resolve_variant
    from evalcliff.gate import load_policy
    from evalcliff.runner.identity import results_name, safe_name
    from evalcliff.runner.many import RunJob, RunOptions, run_many
    from evalcliff.suites.spec import load_suite

    # everything that can be refused is checked before any work
    original = resolve_variant(variant, config)
    copy = original.model_copy(update={"batch_size": batch_size or original.batch_size})
    copy_name = f"{variant}-copy"
    load_policy(policy)
    spec = load_suite(suite)
    items = load_items(spec, None, None, None)
    runs = Path(runs_dir) / spec.name
    jobs = [
        RunJob(n, v, runs / results_name(n, limit), runs / "logs" / f"{safe_name(n)}.log")
        for n, v in ((variant, original), (copy_name, copy))
    ]
    # force: both runs are computed now, so the copy never reuses the original's outputs
    done = run_many(jobs, spec, items, RunOptions(limit=limit, force=True), parallel=2)
    paths = {n: r.out for n, r in done.items()}
    out_dir = Path(out or f"reports/noise-{safe_name(variant)}")
    text, code, summary_path = compare_files(paths[variant], paths[copy_name], policy, out_dir)
    from evalcliff.schema.summary import Summary

    summary = Summary.model_validate_json(summary_path.read_text(encoding="utf-8"))
    total = sum(s.n for s in summary.slices)
    flips = sum(s.flips_regressed + s.flips_improved for s in summary.slices)
    click.echo(text)
    click.echo(
        f"A/A noise floor: {flips} flips in {total} paired items "
        f"({100 * flips / max(1, total):.2f}%); copy batch size {copy.batch_size}"
    )
    click.echo(f"report: {out_dir / 'report.html'}")
    sys.exit(code)
