"""`evalcliff report`: run base and candidate side by side, compare, render; verdict exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalcliff.cli.compare import echo_outcome, format_option
from evalcliff.cli.history import record_options, recorder
from evalcliff.cli.options import (
    build_options,
    config_option,
    limit_option,
    load_items,
    policy_option,
    suite_option,
    unsandboxed_option,
    writable_dir,
)


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
    help="Where per-variant results are kept (RUNS_DIR/SUITE/VARIANT.parquet) and reused.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Variants run at once; CPU threads are split between them.",
)
@limit_option
@build_options
@unsandboxed_option
@click.option("--force", is_flag=True, help="Recompute runs even if matching ones exist.")
@click.option(
    "--divergence/--no-divergence",
    default=True,
    show_default=True,
    help="Token KL and top-1 agreement vs the base (hf variants only; teacher-forced).",
)
@format_option
@record_options
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
    items_dir: str | None,
    tokenizer: str | None,
    allow_unsandboxed_code: bool,
    force: bool,
    divergence: bool,
    output_format: str,
    record_db: str | None,
    record_tags: tuple[str, ...],
) -> None:
    """Run BASE and CAND over a suite, compare them, and write report.html + summary.json.

    Items are built once (or read with --items) and both variants run in parallel worker
    processes. Exits with the verdict: 0 GO, 1 NO-GO, 3 INCONCLUSIVE; 2 on bad input or a
    failed run (finished items are kept, and running the same command again resumes);
    130 on Ctrl-C, 143 on SIGTERM.
    """
    from evalcliff.compare import compare_files
    from evalcliff.config.variants import resolve_variant
    from evalcliff.gate import load_policy
    from evalcliff.runner.identity import results_name, safe_name
    from evalcliff.runner.many import RunJob, RunOptions, run_many
    from evalcliff.runner.run import code_sandbox_tier
    from evalcliff.suites.spec import load_suite

    # everything that can be refused is checked before any work
    variants = {n: resolve_variant(n, config) for n in dict.fromkeys([base, cand])}
    spec = load_suite(suite)
    load_policy(policy).check_slices(spec.slices)
    code_sandbox_tier(spec, allow_unsandboxed_code)
    out_dir = Path(out or f"reports/{safe_name(base)}-vs-{safe_name(cand)}")
    writable_dir(out_dir, "--out")
    history = recorder(record_db, record_tags)
    items = load_items(spec, items_dir, tokenizer, None)
    runs = writable_dir(Path(runs_dir) / spec.name, "--runs-dir")
    jobs_list = [
        RunJob(n, v, runs / results_name(n, limit), runs / "logs" / f"{safe_name(n)}.log")
        for n, v in variants.items()
    ]
    opts = RunOptions(limit=limit, force=force, allow_unsandboxed=allow_unsandboxed_code)
    results = run_many(jobs_list, spec, items, opts, parallel=jobs)
    err = output_format == "json"  # stdout carries only summary.json then
    for r in results.values():
        h = r.header
        state = "reused" if r.reused else f"ran in {r.seconds:.0f}s"
        limited = f", LIMITED RUN ({h.limit} per stratum)" if h.limit is not None else ""
        click.echo(f"{r.name}: {h.n_items} items, {h.n_errors} errors{limited}, {state}", err=err)
        if h.defaults_used and config:
            click.echo(
                f"{r.name}: not set in {config}, defaults used: {', '.join(h.defaults_used)}",
                err=err,
            )
    paths = {n: r.out for n, r in results.items()}
    if history is not None:
        history.record(list(paths.values()), err=err)
    div_path = None
    if divergence:
        from evalcliff.distribution.run import divergence_table, supports_divergence

        vb, vc = variants[base], variants[cand]
        if supports_divergence(vb, vc):
            div_path = divergence_table(
                vb, vc, spec, paths[base], paths[cand], runs / "divergence", items=items
            )
    prompts = {it.item_id: it.prompt for it in items}  # for the report's flips browser
    text, code, summary_path = compare_files(
        paths[base], paths[cand], policy, out_dir, div_path, prompts=prompts
    )
    report_line = f"report: {out_dir / 'report.html'}\nsummary: {summary_path}"
    echo_outcome(text, summary_path, output_format, report_line)
    sys.exit(code)
