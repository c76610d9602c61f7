"""`evalcliff serve`: start the servers of served variants and keep them up until Ctrl-C."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import click

from evalcliff.cli.options import config_option


@click.command("serve")
@click.argument("variants", nargs=-1, required=True)
@config_option
@click.option(
    "--logs",
    type=click.Path(file_okay=False),
    default="reports/runs/serve-logs",
    show_default=True,
    help="Where each server's log goes.",
)
@click.option(
    "--once", is_flag=True, help="Stop as soon as every server is healthy (a startup check)."
)
def command(variants: tuple[str, ...], config: str | None, logs: str, once: bool) -> None:
    """Start a server for each VARIANT (a `serve` table, or backend llamacpp), wait for health,
    print its endpoint, and stop them all on Ctrl-C.

    `evalcliff run` and `evalcliff report` start and stop servers by themselves; this command
    is for keeping them up while other tools (or another machine) use the endpoints.
    """
    from evalcliff.config.variants import OpenAIVariant, resolve_variant
    from evalcliff.errors import EvalcliffError
    from evalcliff.serve import is_served, served

    resolved = {n: resolve_variant(n, config) for n in variants}
    for n, v in resolved.items():
        if not is_served(v):
            raise EvalcliffError(
                f"variant {n!r} (backend {v.backend}) has nothing to serve: give it a `serve` "
                "table or use backend 'llamacpp'"
            )
    with contextlib.ExitStack() as stack:
        for n, v in resolved.items():
            api, _ = stack.enter_context(served(n, v, Path(logs)))
            assert isinstance(api, OpenAIVariant)  # a served variant is asked over HTTP
            click.echo(f"{n}: {api.endpoints[0]}  (model {api.model!r})")
        if once:
            return
        click.echo("serving; Ctrl-C stops every server")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)
