"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from evalcliff.errors import EvalcliffError
from evalcliff.suites.items import Item
from evalcliff.suites.spec import SuiteSpec

F = TypeVar("F", bound=Callable[..., Any])

suite_option = click.option(
    "--suite",
    default="smoke",
    show_default=True,
    help="Suite name (looked up in ./suites) or path to a suite YAML.",
)
config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False),
    default=None,
    help="Variants file (TOML/YAML) defining non-built-in variants.",
)
policy_option = click.option(
    "--policy",
    type=click.Path(dir_okay=False),
    default=None,
    help="Gate policy YAML (margins, confidence, weights); built-in default when absent.",
)
limit_option = click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="A limited run: N items per stratum (seeded), recorded as such; its default results "
    "file is NAME.limitN.parquet, and it never replaces a full run's file.",
)
unsandboxed_option = click.option(
    "--allow-unsandboxed-code",
    is_flag=True,
    help="Run the code slice's generated code even where the namespaces sandbox is "
    "unavailable (weaker isolation; the tier is recorded in the run header).",
)


def build_options(f: F) -> F:
    """--items DIR (a `suites build` output) and --tokenizer DIR (measure lengths in it)."""
    f = click.option(
        "--tokenizer",
        default=None,
        help="Local Hugging Face tokenizer dir to measure long-context lengths in the model's "
        "own tokens when building items [default: chars/4 estimate].",
    )(f)
    return click.option(
        "--items",
        "items_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Use the items that `evalcliff suites build` wrote in DIR instead of building.",
    )(f)


def load_items(
    spec: SuiteSpec, items_dir: str | None, tokenizer: str | None, seed: int | None
) -> list[Item]:
    """The suite's items: read from a `suites build` directory, or built once here."""
    return load_items_seeded(spec, items_dir, tokenizer, seed)[0]


def load_items_seeded(
    spec: SuiteSpec, items_dir: str | None, tokenizer: str | None, seed: int | None
) -> tuple[list[Item], int]:
    """The suite's items and the seed of their build: `--seed` (the suite's when None) for
    items built here; the build's own seed (its manifest's) for `--items DIR`, where a
    `--seed` that differs is refused. Pass that seed on to the run, so that its header and
    run key are those of `run --seed N` over the same build."""
    from evalcliff.suites.build import build_items, read_build_seeded

    if items_dir is None:
        built_seed = spec.seed if seed is None else seed
        return build_items(spec, built_seed, tokenizer=tokenizer), built_seed
    if tokenizer is not None:
        raise EvalcliffError(
            "--tokenizer applies when items are built; --items DIR was built already "
            "(pass --tokenizer to `evalcliff suites build` instead)"
        )
    return read_build_seeded(spec, Path(items_dir), seed)


def writable_dir(path: Path, what: str) -> Path:
    """`path` created if needed; EvalcliffError (before any work) when it cannot be written."""
    import os

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvalcliffError(f"{what} {path}: cannot create it ({exc.strerror})") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise EvalcliffError(f"{what} {path}: not a writable directory")
    return path
