"""Progress for logs without a terminal: a plain line per ~10% of the work or per 30 s.

A CI log is not a terminal: redrawn bars either print nothing for minutes or flood it with
carriage returns. `LineProgress` writes whole lines instead, each naming the task, the
count, the share done and the elapsed time.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO


def pipe_safe_console(*, keep_going: bool, **kwargs: Any) -> Any:
    """A rich `Console` (`kwargs` as rich's) that never ends the process with exit code 1
    on a closed pipe, as rich's own does (`Console.on_broken_pipe`), which a CI gate would
    read as NO-GO: with `keep_going` it goes quiet and the work goes on (progress on
    stderr), else it raises BrokenPipeError (the CLI turns that into exit code 2)."""
    from rich.console import Console

    class PipeSafeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            if not keep_going:
                raise BrokenPipeError(32, "Broken pipe")

    return PipeSafeConsole(**kwargs)


def interactive(stream: TextIO | None = None) -> bool:
    """Whether `stream` (default stderr) is a terminal that can redraw a bar."""
    s = stream if stream is not None else sys.stderr
    try:
        return bool(s.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class LineProgress:
    """Counts done items of `label` and prints a line each time another `step` share of
    `total` is done, or `every_s` seconds passed since the last line (total unknown: only
    the latter), and a last line from `finish()`. A stream that can no longer be written
    (a closed pipe) silences it; the work goes on."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        step: float = 0.1,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.done = label, total, 0
        self._stream, self._step, self._every = stream, step, every_s
        self._clock = clock
        self._start = self._last = clock()
        self._bucket = 0
        self._finished = False
        self._silent = False

    def set_total(self, total: int | None) -> None:
        """The number of items, once known."""
        self.total = total
        self._bucket = self._bucket_of(self.done)

    def _bucket_of(self, done: int) -> int:
        if not self.total or self.total <= 0:
            return 0
        return int(done / self.total / self._step + 1e-9)

    def advance(self, k: int = 1) -> None:
        """`k` more items done; prints a line when a step or the interval is crossed."""
        self.done += k
        now = self._clock()
        bucket = self._bucket_of(self.done)
        if bucket > self._bucket or now - self._last >= self._every:
            self._bucket = max(bucket, self._bucket)
            self._line(now)

    def update(self, k: int = 1) -> None:
        """`k` more items done (tqdm's spelling of `advance`)."""
        self.advance(k)

    def set_done(self, done: int) -> None:
        """Set the done count (e.g. from a finished run's header)."""
        self.advance(done - self.done)

    def finish(self) -> None:
        """The last line, once (if the last line printed was not already at 100%)."""
        if self._finished:
            return
        self._finished = True
        if self.total is None or self._bucket_of(self.done) < int(1 / self._step + 1e-9):
            self._line(self._clock())

    def _line(self, now: float) -> None:
        self._last = now
        if self._silent:
            return
        if self.total:
            share = f" ({100 * self.done / self.total:.0f}%)"
            of = f"{self.done}/{self.total}"
        else:
            share, of = "", f"{self.done}"
        stream = self._stream if self._stream is not None else sys.stderr
        try:
            print(f"{self.label}: {of}{share}, {now - self._start:.0f}s", file=stream, flush=True)
        except (OSError, ValueError):  # progress is not worth failing a run for
            self._silent = True


class Bars:
    """Named progress counters drawn as rich bars on a terminal (stderr), else as
    `LineProgress` lines. Use as a context manager.

    The bars are redrawn twice a second (rich's default, ten times, costs its refresh
    thread ~2.4% of a core for the whole run: ~1 s of CPU over a 40 s run)."""

    REFRESH_PER_S = 2

    def __init__(self, names: list[str], stream: TextIO | None = None) -> None:
        self._tty = interactive(stream)
        self._stream = stream
        self._rich: Any = None  # a rich Progress on a terminal
        self._tasks: dict[str, Any] = {}
        self._lines: dict[str, LineProgress] = {}
        self._names = names

    def __enter__(self) -> Bars:
        if self._tty:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            progress = Progress(
                "[bold]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=pipe_safe_console(keep_going=True, file=self._stream or sys.stderr),
                refresh_per_second=self.REFRESH_PER_S,
            )
            progress.__enter__()
            self._rich = progress
            self._tasks = {n: progress.add_task(n, total=None) for n in self._names}
        else:
            self._lines = {n: LineProgress(n, stream=self._stream) for n in self._names}
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)
        elif exc[0] is None:
            for line in self._lines.values():
                line.finish()

    def total(self, name: str, n: int | None) -> None:
        """Set `name`'s item count."""
        if self._rich is not None:
            self._rich.update(self._tasks[name], total=n)
        else:
            self._lines[name].set_total(n)

    def advance(self, name: str, k: int = 1) -> None:
        """`k` more items of `name` done."""
        if self._rich is not None:
            self._rich.advance(self._tasks[name], k)
        else:
            self._lines[name].advance(k)

    def complete(self, name: str, n: int) -> None:
        """`name` finished with `n` items."""
        if self._rich is not None:
            self._rich.update(self._tasks[name], total=n, completed=n)
        else:
            line = self._lines[name]
            line.set_total(n)
            line.set_done(n)
            line.finish()


@contextlib.contextmanager
def counter(total: int, label: str, unit: str = "item") -> Iterator[Any]:
    """A tqdm bar over `total` items on a terminal, else a `LineProgress` (stderr); both
    take `.update(k)` for `k` more items done."""
    if interactive():
        from tqdm import tqdm

        with tqdm(total=total, desc=label, unit=unit) as bar:
            yield bar
        return
    line = LineProgress(label, total)
    yield line
    line.finish()
