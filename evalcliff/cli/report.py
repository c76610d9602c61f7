"""`evalcliff report`: run base and candidate side by side, compare, render; verdict exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from evalcliff.cli.compare import echo_outcome, format_option
from evalcliff.cli.history import record_options, recorder
from evalcliff.cli.options import (
    build_options,
    config_option,
    limit_option,
    load_items_seeded,
    policy_option,
    suite_option,
    unsandboxed_option,
    writable_dir,
)
from evalcliff.errors import EvalcliffError

if TYPE_CHECKING:
    from evalcliff.config.variants import VariantConfig
    from evalcliff.runner.many import RunOptions
    from evalcliff.suites.items import Item
    from evalcliff.suites.spec import SuiteSpec


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
@click.option(
    "--sequential",
    "looks",
    type=click.IntRange(min=2, max=20),
    default=None,
    help="Sequential mode: run the suite in K stratified looks and stop sampling a slice once "
    "it is decided (O'Brien-Fleming repeated CIs); looks go to RUNS_DIR/SUITE/VARIANT.seqK/, "
    "the merged runs to VARIANT.seqK.parquet. Not with --limit. [default: off, fixed n]",
)
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
    looks: int | None,
    force: bool,
    divergence: bool,
    output_format: str,
    record_db: str | None,
    record_tags: tuple[str, ...],
) -> None:
    """Run BASE and CAND over a suite, compare them, and write report.html + summary.json.

    Items are built once (or read with --items) and both variants run in parallel worker
    processes. With --sequential K the items run in K looks and a slice stops getting items
    once it is decided; the report says how many items and how much time that saved.
    Exits with the verdict: 0 GO, 1 NO-GO, 3 INCONCLUSIVE; 2 on bad input or a failed run
    (finished items are kept, and running the same command again resumes); 130 on Ctrl-C,
    143 on SIGTERM.
    """
    from evalcliff.compare import clear_report, compare_files
    from evalcliff.config.variants import resolve_variant
    from evalcliff.gate import load_policy
    from evalcliff.runner.identity import safe_name
    from evalcliff.runner.many import RunOptions
    from evalcliff.runner.run import code_sandbox_tier
    from evalcliff.suites.spec import load_suite

    out_dir = Path(out or f"reports/{safe_name(base)}-vs-{safe_name(cand)}")
    clear_report(out_dir)  # a report that stops before its verdict leaves no older one
    # everything that can be refused is checked before any work
    variants = {n: resolve_variant(n, config) for n in dict.fromkeys([base, cand])}
    spec = load_suite(suite)
    gate_policy = load_policy(policy)
    gate_policy.check_slices(spec.slices)
    if looks is not None:
        check_sequential(spec, limit)
    code_sandbox_tier(spec, allow_unsandboxed_code)
    writable_dir(out_dir, "--out")
    history = recorder(record_db, record_tags)
    items, seed = load_items_seeded(spec, items_dir, tokenizer, None)  # --items: the build's
    runs = writable_dir(Path(runs_dir) / spec.name, "--runs-dir")
    opts = RunOptions(seed=seed, limit=limit, force=force, allow_unsandboxed=allow_unsandboxed_code)
    err = output_format == "json"  # stdout carries only summary.json then
    if looks is not None:
        from evalcliff.sequential import many_runner, run_sequential
        from evalcliff.suites.build import manifest

        with many_runner(variants, spec, runs, looks, opts, jobs, items) as run_look:
            seq = run_sequential(
                items,
                looks,
                base=base,
                cand=cand,
                suite=manifest(spec, items, seed),
                manifest_of=lambda used: manifest(spec, used, seed),
                policy=gate_policy,
                runs=runs,
                run_look=run_look,
                echo=lambda line: click.echo(line, err=err),
            )
        for n, h in seq.headers.items():
            click.echo(
                f"{n}: {h.n_items} items, {h.n_errors} errors, sequential ({looks} looks):"
                f" {seq.paths[n]}",
                err=err,
            )
            _defaults_note(n, h.defaults_used, config, err)
        paths = seq.paths
        items = seq.items  # what was run: the divergence pass and the flips browser
    else:
        paths = _run_fixed(variants, spec, items, runs, limit, opts, jobs, config, err)
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
    if history is not None:  # after the report: a failure to record loses no verdict
        history.record(list(paths.values()), err=err)
    sys.exit(code)


def check_sequential(spec: SuiteSpec, limit: int | None) -> None:
    """Refuse, before any work, what sequential mode cannot do: a limited run (a quick
    look at a sample, where stopping early saves nothing worth the design), and lm-eval task
    slices (their items are not known before the run, so they cannot be split into looks)."""
    if limit is not None:
        raise EvalcliffError(
            "--sequential and --limit: a limited run is a quick check on a sample, and"
            " sequential mode stops a full run early; use one or the other"
        )
    tasks = [n for n, sl in spec.slices.items() if sl.lm_eval_task is not None]
    if tasks:
        raise EvalcliffError(
            f"--sequential: slice(s) {', '.join(map(repr, tasks))} of suite {spec.name!r} run"
            " an lm-eval task whose items are not known before the run, so they cannot be"
            " split into looks; run this suite without --sequential"
        )


def _run_fixed(
    variants: dict[str, VariantConfig],
    spec: SuiteSpec,
    items: list[Item],
    runs: Path,
    limit: int | None,
    opts: RunOptions,
    jobs: int,
    config: str | None,
    err: bool,
) -> dict[str, Path]:
    """Run every variant over all items (fixed n); variant name -> results file."""
    from evalcliff.runner.identity import results_name, safe_name
    from evalcliff.runner.many import RunJob, run_many

    jobs_list = [
        RunJob(n, v, runs / results_name(n, limit), runs / "logs" / f"{safe_name(n)}.log")
        for n, v in variants.items()
    ]
    results = run_many(jobs_list, spec, items, opts, parallel=jobs)
    for r in results.values():
        h = r.header
        state = "reused" if r.reused else f"ran in {r.seconds:.0f}s"
        limited = f", LIMITED RUN ({h.limit} per stratum)" if h.limit is not None else ""
        click.echo(f"{r.name}: {h.n_items} items, {h.n_errors} errors{limited}, {state}", err=err)
        _defaults_note(r.name, h.defaults_used, config, err)
    return {n: r.out for n, r in results.items()}


def _defaults_note(name: str, defaults: list[str], config: str | None, err: bool) -> None:
    if defaults and config:
        click.echo(f"{name}: not set in {config}, defaults used: {', '.join(defaults)}", err=err)
