"""A rich progress bar for a single in-process run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_callbacks(
    label: str,
) -> Iterator[tuple[Callable[[int], None], Callable[[], None]]]:
    """(on_total, on_item) callbacks driving one progress bar for the block."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[bold]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as progress:
        task = progress.add_task(label, total=None)

        def on_total(n: int) -> None:
            progress.update(task, total=n)

        def on_item() -> None:
            progress.advance(task)

        yield on_total, on_item
