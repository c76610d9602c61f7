"""`evalcliff` entry point: a click group whose commands live in sibling modules.

Exit codes: 0 = GO, 1 = NO-GO, 3 = INCONCLUSIVE (compare/report); 2 = bad input or usage,
a failed run, or no verdict for another reason (a file the system refused: no permission,
not a directory, disk full, read-only; evalcliff's own error, with its traceback; stdout
closed early or unwritable), with a one-line reason on stderr; 130 = interrupted (Ctrl-C),
143 = terminated (SIGTERM), each after a clean stop (servers, workers and sandboxes stopped;
finished items kept). Nothing but a verdict exits 1, which a CI pipeline reads as NO-GO
(and `drift` as "drifted"): Python's own code for an uncaught exception would be 1.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import PurePath
from types import FrameType
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


# What the file system refused (a path, the disk, permissions): the user can fix it, so one
# line naming the file, not a traceback. Other OSErrors (ENOENT of a file evalcliff made
# itself, EBADF, ...) are evalcliff's own errors and keep their traceback.
_ENVIRONMENT_ERRNOS = frozenset(
    code
    for code in (
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.ENOSPC,
        getattr(errno, "EDQUOT", None),
        errno.EROFS,
        errno.EFBIG,
        errno.ENAMETOOLONG,
    )
    if code is not None
)


def _innermost_frame(exc: BaseException) -> FrameType | None:
    tb = exc.__traceback__
    frame = None
    while tb is not None:
        frame, tb = tb.tb_frame, tb.tb_next
    return frame


def _file_in_frame(exc: BaseException) -> str | None:
    """The file the failing write was on, where the OSError names none (`Path.write_text`,
    `os.write(fd, ...)`): the innermost frame's Path (`self` in pathlib; else a local `path`,
    `tmp`, `file` or `f` that is a Path or an open file)."""
    frame = _innermost_frame(exc)
    if frame is None:
        return None
    local = frame.f_locals
    names = ("self",) if frame.f_globals.get("__name__") == "pathlib" else ()
    for name in (*names, "path", "tmp", "file", "f"):
        value = local.get(name)
        if isinstance(value, PurePath):
            return str(value)
        if isinstance(value, io.IOBase) and isinstance(getattr(value, "name", None), str):
            return str(value.name)  # type: ignore[attr-defined]
    return None


def _stdout_failed(exc: BaseException) -> bool:
    """Whether `exc` came from writing stdout (`click.echo` to fd 1): a stdout redirected to
    a full disk or /dev/full fails with no file name."""
    frame = _innermost_frame(exc)
    if frame is None or frame.f_globals.get("__name__") != "click.utils":
        return False
    stream = frame.f_locals.get("file")
    if stream is None:
        return False
    if stream is sys.stdout or stream is sys.__stdout__:
        return True
    try:
        return int(stream.fileno()) == 1
    except (AttributeError, OSError, ValueError):
        return False


def _os_error_line(exc: OSError) -> str:
    """One line for what the file system refused: "<reason>: <file>" and what to do."""
    reason = os.strerror(exc.errno) if exc.errno is not None else str(exc)
    if exc.filename is None and _stdout_failed(exc):
        quick_exit.silence_stream()  # what is still buffered must not fail again at exit
        return (
            f"cannot write to stdout: {reason}; exit code 2 is not a verdict (summary.json"
            " has it if the report was written); finished items are kept"
        )
    where = ""
    if exc.filename is not None:
        where = f": {_safe(os.fsdecode(exc.filename))}"
        if exc.filename2 is not None:
            where += f" -> {_safe(os.fsdecode(exc.filename2))}"
    else:
        found = _file_in_frame(exc)
        if found is not None:
            where = f": {_safe(found)}"
    hint = ""
    if exc.errno == errno.EEXIST and exc.filename is not None:
        if os.path.exists(exc.filename) and not os.path.isdir(exc.filename):
            hint = " (it is a file, not a directory: give a directory path)"
    elif exc.errno == errno.ENOTDIR:
        hint = " (a part of that path is a file, not a directory)"
    elif exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", None)):
        hint = " (free some space and rerun)"
    return f"{reason}{where}{hint}; finished items are kept"


class _Group(click.Group):
    """Turns EvalcliffError into one line on stderr and exit code 2, Ctrl-C into 130, a
    closed stdout and any other error into 2 (never 1, which a CI pipeline would read as
    NO-GO). What the file system refused (no permission, not a directory, disk full,
    read-only; `_ENVIRONMENT_ERRNOS`) is one line naming the file, without a traceback."""

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
            if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
                _say(f"evalcliff: error: {_os_error_line(exc)}")
                sys.exit(2)
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
