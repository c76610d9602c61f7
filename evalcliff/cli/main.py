"""`evalcliff` entry point: a click group whose commands live in sibling modules.

Exit codes: 0 = GO, 1 = NO-GO, 3 = INCONCLUSIVE (compare/report); 2 = bad input or usage,
a failed run, or no verdict for another reason (evalcliff's own error, with its traceback;
stdout closed early), with a one-line reason on stderr; 130 = interrupted (Ctrl-C), 143 =
terminated (SIGTERM), each after a clean stop (servers, workers and sandboxes stopped;
finished items kept). Nothing but a verdict exits 1, which a CI pipeline reads as NO-GO
(and `drift` as "drifted"): Python's own code for an uncaught exception would be 1.
"""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from evalcliff import __version__
from evalcliff.cli import quick_exit
from evalcliff.errors import EvalcliffError

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def _safe(text: str) -> str:
    """`text` with control characters escaped, for one terminal line."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _say(line: str, *, trace: bool = False) -> None:
    """`line` (and the current traceback) on stderr, if stderr can still be written."""
    try:
        if trace:
            traceback.print_exc()
        click.echo(line, err=True)
    except (OSError, ValueError):
        pass


class _Group(click.Group):
    """Turns EvalcliffError into one line on stderr and exit code 2, Ctrl-C into 130, a
    closed stdout and any other error into 2 (never 1, which a CI pipeline would read as
    NO-GO)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EvalcliffError as exc:
            _say(f"evalcliff: error: {_safe(str(exc))}")
            sys.exit(2)
        except KeyboardInterrupt:
            _say("evalcliff: interrupted; finished items are kept")
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise  # usage errors (exit 2) and --help: click's own handling
        except BrokenPipeError:
            quick_exit.silence_stream()
            _say(
                "evalcliff: error: a pipe it was writing to was closed (stdout piped into a"
                " program that ended early?); exit code 2 is not a verdict (summary.json has"
                " it if the report was written); finished items are kept"
            )
            sys.exit(2)
        except Exception as exc:  # noqa: BLE001 - a bug must not read as a verdict
            _say(
                f"evalcliff: internal error (not a verdict): {type(exc).__name__}:"
                f" {_safe(str(exc))[:500]}; traceback above; finished items are kept",
                trace=True,
            )
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="evalcliff")
def cli() -> None:
    """Catch the quantization quality cliff: paired, tail-oversampled release gate.

    \b
    evalcliff report --base fp16 --cand q4      run both variants, compare, render
    evalcliff run q4 --out runs/q4.parquet      run one variant over a suite
    evalcliff compare --base A --cand B --out D compare two stored runs (no model)
    evalcliff suites show smoke                 strata x counts x weights
    evalcliff serve q4_gguf --config V.toml     start servers, stop them on Ctrl-C
    evalcliff history add R.parquet --db H.db   record a run in the history
    evalcliff drift prod --baseline prod        weekly drift review of a served variant
    """


def _register() -> None:
    from evalcliff.cli import compare, drift, history, noise, plan, report, run, serve, suites

    modules: list[Any] = [run, compare, report, noise, suites, plan, serve, history, drift]
    for mod in modules:
        command: Callable[..., Any] = mod.command
        cli.add_command(command)  # type: ignore[arg-type]


_register()


def _terminated(signum: int, frame: Any) -> None:
    # SystemExit unwinds through every `finally`: servers and workers are stopped on the way
    raise SystemExit(EXIT_TERMINATED)


def main() -> None:
    """Console-script entry point. Once the command is over, the process ends without the
    interpreter's teardown (1-2 s of CPU after a model was loaded) when nothing is left to
    write (`evalcliff.cli.quick_exit`); the exit code is the same either way."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        cli(prog_name="evalcliff")
    except SystemExit as exc:
        quick_exit.exit_process(exc.code)
    quick_exit.exit_process(0)


if __name__ == "__main__":
    main()
