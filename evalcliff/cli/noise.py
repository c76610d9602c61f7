"""`evalcliff noise`: the A/A noise floor — a variant against an identical copy of itself."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click
import yaml

from evalcliff.cli.options import config_option, policy_option, suite_option


@click.command("noise")
@click.argument("variant")
@suite_option
@config_option
@policy_option
@click.option(
    "--batch-size",
    type=int,
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
@click.option("--limit", type=int, default=None, help="Only the first N items of each slice.")
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
    from evalcliff.config.variants import load_variants, resolve_variant
    from evalcliff.runner.parallel import run_side_by_side

    original = resolve_variant(variant, config)
    copy = original.model_copy(update={"batch_size": batch_size or original.batch_size})
    copy_name = f"{variant}-copy"
    variants = {n: v.model_dump(exclude_unset=True) for n, v in load_variants(config).items()}
    variants[variant] = original.model_dump(exclude_unset=True)
    variants[copy_name] = {**variants[variant], "batch_size": copy.batch_size}
    with tempfile.TemporaryDirectory() as tmp:
        merged = Path(tmp) / "variants.yaml"
        merged.write_text(yaml.safe_dump({"variants": variants}))
        paths = run_side_by_side(
            [variant, copy_name], suite, str(merged), Path(runs_dir), limit=limit, force=True
        )
    out_dir = Path(out or f"reports/noise-{variant}")
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
