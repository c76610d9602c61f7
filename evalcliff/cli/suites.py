"""`evalcliff suites`: show a suite's strata and build its items."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import click


@click.group("suites")
def command() -> None:
    """Inspect and build evaluation suites (a YAML path, ./suites/NAME.yaml, or a built-in one)."""


@command.command("show")
@click.argument("suite", default="smoke")
def show(suite: str) -> None:
    """Print SUITE's slices x strata x item counts x weights, and each catastrophic rule."""
    from rich.table import Table

    from evalcliff.runner.progress import pipe_safe_console
    from evalcliff.scoring import CATASTROPHIC_RULES
    from evalcliff.suites.sources import jsonl_items
    from evalcliff.suites.spec import load_suite

    spec = load_suite(suite)
    table = Table(title=f"suite {spec.name} v{spec.version} (seed {spec.seed})")
    for col in ("slice", "stratum", "items", "scorer", "weight", "margin"):
        table.add_column(col, no_wrap=True)
    per_slice: dict[str, tuple[int, int]] = {}  # slice -> (strata, items)
    total = 0
    for name, sl in spec.slices.items():
        margin = "policy" if sl.margin is None else f"{sl.margin:g}"
        rows: list[tuple[str, str]]
        if sl.kind == "generator":
            rows = [(label, str(sl.items_per_stratum)) for label, _ in sl.strata_params()]
            total += len(rows) * (sl.items_per_stratum or 0)
        elif sl.kind == "jsonl":
            counts = Counter(it.stratum for it in jsonl_items(spec, name, sl))
            rows = [(label, str(n)) for label, n in counts.items()]
            total += sum(counts.values())
        else:
            rows = [(f"lm-eval task {sl.lm_eval_task}", "(runner)")]
        for label, n in rows:
            table.add_row(name, label, n, sl.scorer, f"{sl.weight:g}", margin)
        per_slice[name] = (len(rows), sum(int(n) for _, n in rows if n.isdigit()))
    # Never fold a stratum label: widen past an 80-column default (pipes, CI logs) instead.
    widest = max((len(str(c)) for c in table.columns[1].cells), default=0)
    console = pipe_safe_console(keep_going=False)
    console = pipe_safe_console(keep_going=False, width=max(console.width, widest + 60))
    console.print(table)
    summary = Table(title=f"suite {spec.name}: {total} items")
    for col in ("slice", "strata", "items", "share of items", "traffic weight", "margin"):
        summary.add_column(col)
    for name, sl in spec.slices.items():
        n_strata, n_items = per_slice[name]
        share = f"{n_items / total:.1%}" if total else "-"
        margin = "policy" if sl.margin is None else f"{sl.margin:g}"
        summary.add_row(name, str(n_strata), str(n_items), share, f"{sl.weight:g}", margin)
    console.print(summary)
    for name, sl in spec.slices.items():
        rule = CATASTROPHIC_RULES.get(sl.scorer, "defined by the scorer")
        limit = sl.max_catastrophic_increase
        extra = "" if limit is None else f" (max increase {limit:g})"
        click.echo(f"catastrophic[{name}]: {rule}{extra}")


@command.command("build")
@click.argument("suite", default="smoke")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory for items.jsonl + manifest.json [default: .evalcliff/suites/SUITE].",
)
@click.option("--seed", type=int, default=None, help="Item seed (default: the suite's).")
@click.option(
    "--tokenizer",
    default=None,
    help="Local Hugging Face tokenizer (directory, or name in the local HF cache) to measure "
    "long-context lengths in the target model's tokens [default: chars/4 estimate].",
)
def build(suite: str, out: str | None, seed: int | None, tokenizer: str | None) -> None:
    """Build SUITE's items (deterministic for a seed) as JSONL plus a manifest."""
    from evalcliff.suites.build import build_items, manifest, write_items
    from evalcliff.suites.spec import load_suite

    t0 = time.monotonic()
    spec = load_suite(suite)
    seed = spec.seed if seed is None else seed
    items = build_items(spec, seed, tokenizer=tokenizer)
    out_dir = Path(out or f".evalcliff/suites/{spec.name}")
    path = write_items(items, out_dir / "items.jsonl")
    man = manifest(spec, items, seed)
    (out_dir / "manifest.json").write_text(man.model_dump_json(indent=2))
    size_mb = path.stat().st_size / 1e6
    click.echo(
        f"{len(items)} items, content hash {man.content_hash} -> {out_dir} "
        f"({size_mb:.1f} MB, {time.monotonic() - t0:.1f} s)"
    )
