"""Options shared by several commands."""

from __future__ import annotations

import click

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
