"""Per-item persistence and timing while lm-eval runs.

lm-eval's `CachingLM` keeps each finished request in SQLite (autocommit), keyed on the
request; every variant gets its own cache file because the key does not include the model.
`JournalHook` wraps lm-eval's cache hook to also append one JSON line per finished item
(its request hash and latency), which feeds the progress bar and `latency_s`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


class JournalHook:
    """Wraps lm-eval's CacheHook: forwards `add_partial`, then journals the item."""

    def __init__(self, inner: Any, journal: Path) -> None:
        self.inner = inner
        self.journal = journal
        self._last = time.perf_counter()

    def add_partial(self, attr: str, req: Any, res: Any) -> None:
        from lm_eval.api.model import hash_args

        self.inner.add_partial(attr, req, res)
        now = time.perf_counter()
        rec = {"hash": hash_args(attr, req), "latency_s": round(now - self._last, 6)}
        self._last = now
        with self.journal.open("a") as f:
            f.write(json.dumps(rec) + "\n")


def install(lm: Any, journal: Path) -> None:
    """Make `lm.set_cache_hook` wrap whatever hook lm-eval installs in a JournalHook."""
    original = lm.set_cache_hook

    def set_cache_hook(hook: Any) -> None:
        original(JournalHook(hook, journal))

    lm.set_cache_hook = set_cache_hook


def read_latencies(journal: Path) -> dict[str, float]:
    """request hash -> latency in seconds (the last record wins)."""
    out: dict[str, float] = {}
    if journal.exists():
        for line in journal.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a torn last line after kill -9
                continue
            out[rec["hash"]] = rec["latency_s"]
    return out


def read_records(path: Path) -> dict[str, dict[str, Any]]:
    """request hash -> its last JSON record (torn lines after kill -9 are skipped)."""
    out: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[rec["hash"]] = rec
    return out


def purge_errors(cache_db: Path, prefix: str) -> int:
    """Delete cached responses that are error markers, so a rerun retries them.

    lm-eval's CachingLM stores every response it is given, failures included.
    """
    if not cache_db.exists():
        return 0
    from sqlitedict import SqliteDict

    n = 0
    with SqliteDict(str(cache_db), autocommit=True) as db:
        for k, v in list(db.items()):
            if isinstance(v, str) and v.startswith(prefix):
                del db[k]
                n += 1
    return n
