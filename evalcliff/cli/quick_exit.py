"""End the process without the interpreter's teardown once nothing is left to write.

After a command that loaded a model, CPython's own exit tears down every module and
collects a heap of ~700k objects (torch, transformers, lm-eval, pandas): 1-2 s of CPU for
nothing, since the operating system frees the memory at once. `exit_process` skips that
with `os._exit`, but only when the interpreter would have nothing more to do that matters:

- no thread other than the main one is alive that the interpreter would wait for
  (a non-daemon thread);
- the atexit callbacks are run, in their usual order (they flush and close logging
  handlers, stop multiprocessing children, remove `weakref.finalize`'d temporary dirs);
- no file descriptor is open for writing on a regular file or a pipe: a buffered Python
  writer that was never closed (whose data the teardown would still flush) holds one, and
  so does an open SQLite database (stdin/stdout/stderr excepted: they are flushed here;
  descriptors inherited at start-up are not this process's writes);
- no tracer or profiler is installed (coverage, cProfile write their data at exit);
- stdout and stderr flush without error.

Otherwise it raises SystemExit and the interpreter exits as usual. Either way the exit code
is the same, with one exception: when stdout cannot be flushed (it was a pipe whose reader
ended, e.g. `| head`), a verdict's code (0, 1, 3) becomes 2, with a line on stderr, as the
verdict was not all written where it was asked for (Python alone would exit 120, and
without the line). Linux only (it reads /proc/self/fd); elsewhere the usual exit.
"""

from __future__ import annotations

import atexit
import os
import stat
import sys
import threading
from typing import NoReturn

_FD_DIR = "/proc/self/fd"
_WRITE_ACCESS = (os.O_WRONLY, os.O_RDWR)


def _open_fds() -> dict[int, tuple[int, int]] | None:
    """fd -> (device, inode) of every open descriptor; None without /proc/self/fd."""
    try:
        names = os.listdir(_FD_DIR)
    except OSError:
        return None
    out = {}
    for name in names:
        try:
            st = os.fstat(int(name))
        except (OSError, ValueError):
            continue  # closed meanwhile (e.g. the listing's own descriptor)
        out[int(name)] = (st.st_dev, st.st_ino)
    return out


# what the process was started with (besides 0-2) is not its own writes
_INHERITED = _open_fds() or {}


def open_for_writing() -> list[str] | None:
    """Regular files and pipes this process opened for writing and still holds (beyond
    fds 0-2 and those it was started with), by path; None where that cannot be seen (no
    /proc/self/fd)."""
    fds = _open_fds()
    if fds is None:
        return None
    found = []
    for fd, ident in sorted(fds.items()):
        if fd <= 2 or _INHERITED.get(fd) == ident:
            continue
        try:
            mode = os.fstat(fd).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
                continue
            with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as f:
                flags = next(int(line.split()[1], 8) for line in f if line.startswith("flags:"))
        except (OSError, StopIteration, ValueError, IndexError):
            continue  # closed meanwhile
        if flags & os.O_ACCMODE in _WRITE_ACCESS:
            try:
                found.append(os.readlink(f"{_FD_DIR}/{fd}"))
            except OSError:
                found.append(f"fd {fd}")
    return found


def _running() -> list[str]:
    """Why the interpreter must first wait (threads) or leave the exit to a tool (tracer)."""
    why = []
    if sys.gettrace() is not None or sys.getprofile() is not None:
        why.append("a tracer or profiler is installed")
    main = threading.main_thread()
    busy = [t.name for t in threading.enumerate() if t is not main and not t.daemon]
    if busy:
        why.append(f"threads still running: {', '.join(busy)}")
    return why


def reasons_to_wait() -> list[str]:
    """Why the interpreter's own exit is still needed (empty: `os._exit` loses nothing)."""
    why = _running()
    files = open_for_writing()
    if files is None:
        why.append("open files cannot be listed here")
    elif files:
        why.append(f"files open for writing: {', '.join(files)}")
    return why


# a verdict's exit codes (GO, NO-GO, INCONCLUSIVE; `drift`: stable, drifted, inconclusive)
_VERDICT_CODES = (0, 1, 3)
EXIT_NO_VERDICT = 2


def silence_stream(stream_fd: int = 1) -> None:
    """Point stdout's descriptor (or `stream_fd`) at /dev/null, so that what is still
    buffered for a closed pipe can be flushed (to nowhere) instead of failing again at exit."""
    fd = stream_fd
    if stream_fd == 1:
        try:
            fd = sys.stdout.fileno() if sys.stdout is not None else 1
        except (OSError, ValueError, AttributeError):
            fd = 1
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except OSError:
        pass


def _flush_failed(code: int) -> NoReturn:
    """stdout could not be flushed: say so and exit with no verdict."""
    silence_stream()
    if code in _VERDICT_CODES:
        code = EXIT_NO_VERDICT
    try:
        sys.stderr.write(
            "evalcliff: error: stdout was closed before all was written (piped into a program"
            f" that ended early?); exit code {code} is not a verdict (summary.json has it if"
            " the report was written)\n"
        )
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    raise SystemExit(code)


def exit_process(code: int | str | None) -> NoReturn:
    """Exit with `code` (as `sys.exit` would), skipping the interpreter's teardown when
    `reasons_to_wait` finds none after the atexit callbacks ran."""
    if code is None:
        code = 0
    if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 255:
        raise SystemExit(code)  # printed or mapped by the interpreter as usual
    if _running():  # the usual order: threads are joined before the atexit callbacks run
        _flush_or_fail(code)
        raise SystemExit(code)
    atexit._run_exitfuncs()  # runs each callback once: the usual exit will not repeat them
    _flush_or_fail(code)
    if reasons_to_wait():
        raise SystemExit(code)
    os._exit(code)


def _flush_or_fail(code: int) -> None:
    """Flush stdout and stderr. A stdout that fails is `_flush_failed`; a stderr that fails
    (progress and notes only) is pointed at /dev/null and the exit code stays."""
    for stream, fd in ((sys.stdout, 1), (sys.__stdout__, 1), (sys.stderr, 2), (sys.__stderr__, 2)):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except (OSError, ValueError):
            if fd == 1:
                _flush_failed(code)
            silence_stream(2)
