"""`evalcliff suites`: show a suite's strata and build its items."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("suites")
def command() -> None:
    """Inspect and build evaluation suites (YAML specs in ./suites)."""


@command.command("show")
@click.argument("suite", default="smoke")
def show(suite: str) -> None:
    """Print SUITE's slices x strata x item counts x weights."""
    from rich.console import Console
    from rich.table import Table

    from evalcliff.suites.spec import load_suite

    spec = load_suite(suite)
    table = Table(title=f"suite {spec.name} v{spec.version} (seed {spec.seed})")
    for col in ("slice", "stratum", "items", "scorer", "weight", "margin"):
        table.add_column(col)
    total = 0
    for name, sl in spec.slices.items():
        for label, _ in sl.strata_params():
            margin = "policy" if sl.margin is None else f"{sl.margin:g}"
            table.add_row(
                name, label, str(sl.items_per_stratum), sl.scorer, f"{sl.weight:g}", margin
            )
            total += sl.items_per_stratum
    Console().print(table)
    click.echo(f"{total} items")


@command.command("build")
@click.argument("suite", default="smoke")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory for items.jsonl + manifest.json [default: .evalcliff/suites/SUITE].",
)
@click.option("--seed", type=int, default=None, help="Item seed (default: the suite's).")
def build(suite: str, out: str | None, seed: int | None) -> None:
    """Build SUITE's items (deterministic for a seed) as JSONL plus a manifest."""
    from evalcliff.suites.build import build_items, manifest, write_items
    from evalcliff.suites.spec import load_suite

    spec = load_suite(suite)
    seed = spec.seed if seed is None else seed
    items = build_items(spec, seed)
    out_dir = Path(out or f".evalcliff/suites/{spec.name}")
    write_items(items, out_dir / "items.jsonl")
    man = manifest(spec, items, seed)
    (out_dir / "manifest.json").write_text(json.dumps(man, indent=2))
    click.echo(f"{len(items)} items, content hash {man['content_hash']} -> {out_dir}")
