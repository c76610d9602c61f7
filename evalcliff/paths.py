"""Where evalcliff keeps caches: `$EVALCLIFF_CACHE`, else `./.evalcliff`."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of the request caches and materialised variants (created on demand)."""
    root = Path(os.environ.get("EVALCLIFF_CACHE", ".evalcliff")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root
