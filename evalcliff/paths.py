"""Where evalcliff keeps caches: `$EVALCLIFF_CACHE`, else `./.evalcliff`."""

from __future__ import annotations

import os
from pathlib import Path

from evalcliff.errors import EvalcliffError

CACHE_ENV = "EVALCLIFF_CACHE"


def cache_dir() -> Path:
    """Root of the request caches and materialised variants (created on demand).

    Raises EvalcliffError naming `$EVALCLIFF_CACHE` (or `./.evalcliff`) when it cannot be a
    directory (a file is there, a part of the path is a file, no permission, read-only).
    """
    env = os.environ.get(CACHE_ENV)
    where = f"{CACHE_ENV}={env}" if env else "the cache directory .evalcliff"
    root = Path(env or ".evalcliff").resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = exc.strerror or str(exc)
        if isinstance(exc, FileExistsError) or root.exists() and not root.is_dir():
            why = "it is a file, not a directory"
        elif isinstance(exc, NotADirectoryError):
            why = "a part of that path is a file, not a directory"
        raise EvalcliffError(
            f"{where}: cannot use {root} as the cache directory ({why}); set {CACHE_ENV} to "
            "a writable directory"
        ) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise EvalcliffError(
            f"{where}: {root} is not writable; set {CACHE_ENV} to a writable directory"
        )
    return root
