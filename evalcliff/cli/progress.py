"""Progress for a single in-process run: a rich bar on a terminal, else plain lines."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_callbacks(
    label: str,
) -> Iterator[tuple[Callable[[int], None], Callable[[], None]]]:
    """(on_total, on_item) callbacks driving one progress bar for the block (on stderr;
    without a terminal, a line per ~10% or 30 s)."""
    from evalcliff.runner.progress import Bars

    with Bars([label]) as bars:

        def on_total(n: int) -> None:
            bars.total(label, n)

        def on_item() -> None:
            bars.advance(label)

        yield on_total, on_item
