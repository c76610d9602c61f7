"""Exclusive, non-blocking file locks: one writer per run output and per run cache.

A lock is `fcntl.flock` on a sibling `.lock` file, so it dies with its process (kill -9
included): no stale lock survives a crash. A second writer is refused at once with the
holder's pid, never made to wait or to mix its rows into the first one's file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from evalcliff.errors import EvalcliffError


def lock_path(target: Path) -> Path:
    """The lock file guarding `target` (a file or a directory)."""
    if target.is_dir():
        return target / ".lock"
    return target.with_name(f".{target.name}.lock")


@contextlib.contextmanager
def exclusive(target: Path, what: str) -> Iterator[None]:
    """Hold the lock on `target` for the block; EvalcliffError if another process holds it.

    `what` names the thing for the message (e.g. "results file reports/runs/smoke/q4.parquet").
    """
    path = lock_path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise EvalcliffError(
            f"{what}: cannot write in {path.parent} ({exc.strerror}); choose a writable place"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise EvalcliffError(
                f"{what} is being written by another evalcliff process (pid {holder}); "
                "wait for it to finish, or write somewhere else"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
