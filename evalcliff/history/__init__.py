"""The run history: a local SQLite store of recorded runs (header, engine fingerprint, tags,
time) and their per-item results, read by `evalcliff drift`.

- `store`: `HistoryStore` (open, migrate, add, list, resolve, pin, prune), `default_db_path`.
- `export`: runs and item results to Parquet or CSV.
"""

from evalcliff.history.export import export_history
from evalcliff.history.store import (
    DB_ENV,
    HISTORY_SCHEMA_VERSION,
    HistoryStore,
    StoredRun,
    default_db_path,
    parse_at,
    parse_tags,
)

__all__ = [
    "DB_ENV",
    "HISTORY_SCHEMA_VERSION",
    "HistoryStore",
    "StoredRun",
    "default_db_path",
    "export_history",
    "parse_at",
    "parse_tags",
]
