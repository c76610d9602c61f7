"""The history store: SQLite (stdlib `sqlite3`, WAL), one row per recorded run and per item.

Schema changes are append-only migrations (`MIGRATIONS`, applied in order; `PRAGMA
user_version` counts those applied): a database written by a newer evalcliff is refused, an
older one is migrated when opened. Every write is one `BEGIN IMMEDIATE` transaction, so two
processes adding runs at once are serialised by SQLite (each waits up to `busy_timeout_s`)
and never lose or mix rows. Runs carry their header (JSON of `RunHeader`, None for a
headerless JSONL file), a time (`at`, UTC), the weights fingerprint, what the server said
about itself, and tags.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from evalcliff.errors import EvalcliffError
from evalcliff.schema.run import RESULT_COLUMNS, RunArtifact, RunHeader
from evalcliff.schema.version import check_version

DB_ENV = "EVALCLIFF_DB"
HISTORY_SCHEMA_VERSION = 1

# Append-only: never edit a released entry, add a new one (its index + 1 is the version).
MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        variant TEXT NOT NULL,
        at TEXT NOT NULL,
        added_at TEXT NOT NULL,
        source TEXT NOT NULL,
        run_key TEXT,
        weights_fingerprint TEXT,
        engine TEXT,
        suite_name TEXT,
        suite_hash TEXT,
        n_items INTEGER NOT NULL,
        n_errors INTEGER NOT NULL,
        header TEXT
    );
    CREATE INDEX runs_variant_at ON runs (variant, at, id);
    CREATE TABLE tags (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE pins (
        variant TEXT PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        pinned_at TEXT NOT NULL
    );
    CREATE TABLE results (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        item_id TEXT NOT NULL,
        suite TEXT, slice TEXT NOT NULL, stratum TEXT, cluster_id TEXT, prompt_hash TEXT,
        output TEXT, target TEXT, score REAL NOT NULL, correct INTEGER NOT NULL,
        catastrophic INTEGER NOT NULL, error TEXT, latency_s REAL, ttft_s REAL,
        output_tokens REAL,
        PRIMARY KEY (run_id, item_id)
    );
    """,
]
assert len(MIGRATIONS) == HISTORY_SCHEMA_VERSION

_RESULT_COLS = list(RESULT_COLUMNS)


@functools.cache
def _expected_schema() -> dict[str, tuple[str, ...]]:
    """Table -> columns that `MIGRATIONS` create (applied to an in-memory database)."""
    db = sqlite3.connect(":memory:")
    try:
        for migration in MIGRATIONS:
            for statement in migration.split(";"):
                if statement.strip():
                    db.execute(statement)
        tables = [
            str(r[0])
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(r[0]).startswith("sqlite_")
        ]
        return {t: tuple(str(r[1]) for r in db.execute(f"PRAGMA table_info({t})")) for t in tables}
    finally:
        db.close()


def default_db_path() -> Path:
    """`$EVALCLIFF_DB`, else `history.db` in the cache dir (`$EVALCLIFF_CACHE`, else
    `./.evalcliff`)."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return Path(os.environ.get("EVALCLIFF_CACHE", ".evalcliff")) / "history.db"


def _utc(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def parse_at(text: str, what: str = "--at") -> datetime:
    """An ISO-8601 date or time (UTC when it names no zone); EvalcliffError otherwise."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise EvalcliffError(
            f"{what}: {text!r} is not an ISO-8601 date or time (e.g. 2026-01-05 or "
            "2026-01-05T03:00:00+00:00)"
        ) from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def parse_tags(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`KEY=VALUE` strings as a dict; EvalcliffError naming a malformed one."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or not key.isprintable() or not value.isprintable():
            raise EvalcliffError(f"--tag: {pair!r} is not KEY=VALUE (printable, non-empty key)")
        if key in tags:
            raise EvalcliffError(f"--tag: key {key!r} given twice")
        tags[key] = value
    return tags


def _sql_value(dtype: str, value: Any) -> str | float | int | None:
    """A results cell as SQLite stores it: NA -> NULL, bool -> 0/1."""
    if dtype == "bool":
        return int(bool(value))
    if pd.isna(value):
        return None
    return float(value) if dtype == "float64" else str(value)


@dataclass(frozen=True)
class StoredRun:
    """One recorded run: its id, variant, time (`at`, ISO-8601 UTC), header (None for a
    headerless results file), tags, and whether it is its variant's pinned baseline."""

    id: int
    variant: str
    at: str
    added_at: str
    source: str
    header: RunHeader | None
    n_items: int
    n_errors: int
    tags: dict[str, str] = field(default_factory=dict)
    pinned: bool = False

    @property
    def at_datetime(self) -> datetime:
        return datetime.fromisoformat(self.at)

    def describe(self) -> str:
        """One line: id, variant, time, counts, fingerprint and tags."""
        fp = self.header.model.weights_fingerprint if self.header is not None else None
        tags = " ".join(f"{k}={v}" for k, v in sorted(self.tags.items()))
        return (
            f"{self.id:>5}  {self.variant:<16} {self.at}  {self.n_items:>6} items "
            f"{self.n_errors:>4} errors  {(fp or '-')[:12]:<12}{'  PINNED' if self.pinned else ''}"
            f"{'  ' + tags if tags else ''}"
        )


class HistoryStore:
    """A history database, opened (created and migrated when needed) at `path`.

    Use as a context manager or call `close()`. Raises EvalcliffError when the file is not an
    evalcliff history (its schema is checked when it is opened), was written by a newer
    evalcliff, or cannot be opened; with `create=False` also when it does not exist (what
    reading commands want: a mistyped path is not a new, empty history). A database error
    later (disk full, locked too long, damaged file) is an EvalcliffError naming the file.
    """

    def __init__(
        self, path: str | Path, busy_timeout_s: float = 60.0, *, create: bool = True
    ) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise EvalcliffError(
                f"history db {self.path}: not found (record runs with `evalcliff history add`"
                " or `run/report --db`, or give --db the right file)"
            )
        if self.path.is_dir():
            raise EvalcliffError(f"history db {self.path}: is a directory, not a database file")
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                why = exc.strerror or str(exc)
                if isinstance(exc, FileExistsError | NotADirectoryError):
                    why = "a part of that path is a file, not a directory"
                raise EvalcliffError(
                    f"history db {self.path}: cannot create its directory {self.path.parent}"
                    f" ({why})"
                ) from None
        try:
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise EvalcliffError(f"history db {self.path}: cannot open: {exc}") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise EvalcliffError(
                f"history db {self.path}: not a usable evalcliff history ({exc})"
            ) from None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front (waiting up
        to the busy timeout), so concurrent writers queue instead of failing mid-way."""
        with self._errors("cannot write"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back already (disk full)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """SQLite's errors (disk full, locked past the busy timeout, a damaged file) as one
        line naming the database."""
        try:
            yield
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            hint = ""
            if "locked" in str(exc) or "busy" in str(exc):
                hint = " (another process held it too long; try again)"
            raise EvalcliffError(f"history db {self.path}: {doing}: {exc}{hint}") from None

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise EvalcliffError(
                f"history db {self.path}: schema version {version} is newer than this "
                f"evalcliff reads ({len(MIGRATIONS)}); upgrade evalcliff"
            )
        if version == len(MIGRATIONS):
            self._check_schema(version)
            return
        if version == 0:
            tables = self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if tables.fetchall():
                raise EvalcliffError(
                    f"history db {self.path}: holds tables but no evalcliff schema version; "
                    "not an evalcliff history"
                )
        with self._write() as db:
            # re-read under the write lock: another process may have migrated meanwhile
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for i in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[i].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {i + 1}")
        self._check_schema(len(MIGRATIONS))

    def _check_schema(self, version: int) -> None:
        """Every table and column the migrations create is there (a file whose user_version
        says "evalcliff history" but whose tables are missing fails here, when opened, not
        in the middle of a command after its runs finished)."""
        missing = []
        for table, columns in _expected_schema().items():
            have = {str(r[1]) for r in self._db.execute(f"PRAGMA table_info({table})")}
            if not have:
                missing.append(f"table {table}")
            else:
                missing += [f"{table}.{c}" for c in columns if c not in have]
        if missing:
            shown = ", ".join(missing[:6]) + (", ..." if len(missing) > 6 else "")
            raise EvalcliffError(
                f"history db {self.path}: says evalcliff history schema version {version} but "
                f"lacks {shown}; not a usable evalcliff history (damaged or written by another "
                "tool): give --db another file, or move this one away"
            )

    # -- writing -----------------------------------------------------------------------

    def add(
        self,
        run: RunArtifact,
        *,
        variant: str | None = None,
        at: datetime | None = None,
        tags: dict[str, str] | None = None,
    ) -> int:
        """Record a run and its rows; returns the new run id.

        `variant` defaults to the header's; a headerless file needs one. `at` defaults to
        the header's `finished_at` (else `started_at`, else now), stored in UTC.
        """
        h = run.header
        name = variant or (h.variant if h is not None else None)
        if not name:
            raise EvalcliffError(f"{run.path}: has no run header (JSONL); give --variant NAME")
        if at is None:
            stamp = (h.finished_at or h.started_at) if h is not None else None
            at = parse_at(stamp, f"{run.path}: header time") if stamp else datetime.now(UTC)
        df = run.results
        rows = [
            tuple(_sql_value(RESULT_COLUMNS[c], v) for c, v in zip(_RESULT_COLS, rec, strict=True))
            for rec in df[_RESULT_COLS].itertuples(index=False, name=None)
        ]
        n_errors = int(df["error"].notna().sum())
        engine = None
        if h is not None and h.model.server is not None:
            engine = h.model.server.model_dump_json()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO runs (variant, at, added_at, source, run_key, weights_fingerprint,"
                " engine, suite_name, suite_hash, n_items, n_errors, header)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    _utc(at),
                    _utc(datetime.now(UTC)),
                    str(run.path),
                    h.run_key if h is not None else None,
                    h.model.weights_fingerprint if h is not None else None,
                    engine,
                    h.suite.name if h is not None else None,
                    h.suite.content_hash if h is not None else None,
                    len(df),
                    n_errors,
                    h.model_dump_json() if h is not None else None,
                ),
            )
            run_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)",
                [(run_id, k, v) for k, v in (tags or {}).items()],
            )
            placeholders = ", ".join("?" * (len(_RESULT_COLS) + 1))
            db.executemany(
                f"INSERT INTO results (run_id, {', '.join(_RESULT_COLS)}) VALUES ({placeholders})",
                [(run_id, *r) for r in rows],
            )
        return run_id

    def pin(self, run_id: int) -> StoredRun:
        """Make run `run_id` its variant's pinned baseline (replacing an earlier pin)."""
        run = self.get(run_id)
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO pins (variant, run_id, pinned_at) VALUES (?, ?, ?)",
                (run.variant, run.id, _utc(datetime.now(UTC))),
            )
        return self.get(run_id)

    def unpin(self, variant: str) -> bool:
        """Remove `variant`'s pin; True when there was one."""
        with self._write() as db:
            return db.execute("DELETE FROM pins WHERE variant = ?", (variant,)).rowcount > 0

    def prune(
        self,
        *,
        keep_last: int | None = None,
        before: datetime | None = None,
        variant: str | None = None,
        dry_run: bool = False,
    ) -> list[StoredRun]:
        """Delete runs (with their rows and tags) beyond the newest `keep_last` per variant
        and/or recorded before `before`; pinned runs are always kept. Returns the runs
        deleted (or that would be, with `dry_run`)."""
        if keep_last is None and before is None:
            raise EvalcliffError("history prune: give --keep-last N and/or --before DATE")
        doomed: list[StoredRun] = []
        variants = [variant] if variant else self.variants()
        for name in variants:
            runs = self.runs(name)
            keep = set() if keep_last is None else {r.id for r in runs[-keep_last:]}
            for r in runs:
                old = before is not None and r.at_datetime < before
                extra = keep_last is not None and r.id not in keep
                if r.pinned:
                    continue
                if (before is None or old) and (keep_last is None or extra):
                    doomed.append(r)
        if doomed and not dry_run:
            with self._write() as db:
                db.executemany("DELETE FROM runs WHERE id = ?", [(r.id,) for r in doomed])
        return doomed

    # -- reading -----------------------------------------------------------------------

    def variants(self) -> list[str]:
        with self._errors("cannot read"):
            return [str(r[0]) for r in self._db.execute("SELECT DISTINCT variant FROM runs")]

    def _stored(self, row: tuple[Any, ...]) -> StoredRun:
        run_id, variant, at, added_at, source, n_items, n_errors, header_json, pinned = row
        header = None
        if header_json is not None:
            where = f"history db {self.path}: run {run_id} header"
            try:
                header = RunHeader.model_validate(check_version(json.loads(header_json), where))
            except (ValidationError, json.JSONDecodeError) as exc:
                raise EvalcliffError(f"{where}: unreadable ({exc})") from None
        with self._errors("cannot read"):
            tags = dict(
                self._db.execute(
                    "SELECT key, value FROM tags WHERE run_id = ? ORDER BY key", (run_id,)
                ).fetchall()
            )
        return StoredRun(
            id=int(run_id),
            variant=str(variant),
            at=str(at),
            added_at=str(added_at),
            source=str(source),
            header=header,
            n_items=int(n_items),
            n_errors=int(n_errors),
            tags=tags,
            pinned=bool(pinned),
        )

    _SELECT = (
        "SELECT r.id, r.variant, r.at, r.added_at, r.source, r.n_items, r.n_errors, r.header,"
        " p.run_id IS NOT NULL FROM runs r LEFT JOIN pins p ON p.run_id = r.id"
    )

    def runs(self, variant: str | None = None) -> list[StoredRun]:
        """Recorded runs, oldest first (by `at`, then id); one variant's when given."""
        with self._errors("cannot read"):
            if variant is None:
                rows = self._db.execute(f"{self._SELECT} ORDER BY r.at, r.id").fetchall()
            else:
                rows = self._db.execute(
                    f"{self._SELECT} WHERE r.variant = ? ORDER BY r.at, r.id", (variant,)
                ).fetchall()
        return [self._stored(r) for r in rows]

    def get(self, run_id: int) -> StoredRun:
        """The run with this id; EvalcliffError when there is none."""
        with self._errors("cannot read"):
            row = self._db.execute(f"{self._SELECT} WHERE r.id = ?", (run_id,)).fetchone()
        if row is None:
            raise EvalcliffError(f"history db {self.path}: no run with id {run_id}")
        return self._stored(row)

    def latest(self, variant: str) -> StoredRun:
        """The variant's most recent run (by `at`); EvalcliffError when it has none."""
        runs = self.runs(variant)
        if not runs:
            known = ", ".join(sorted(self.variants())) or "none"
            raise EvalcliffError(
                f"history db {self.path}: no runs of variant {variant!r} (known: {known})"
            )
        return runs[-1]

    def resolve(self, ref: str, variant: str) -> StoredRun:
        """A baseline reference for `variant`'s latest run: a run id; `previous` (the
        variant's run before its latest); or a variant name (its pinned run, else its
        latest)."""
        ref = ref.strip()
        if ref.isdigit():
            return self.get(int(ref))
        if ref == "previous":
            runs = self.runs(variant)
            if len(runs) < 2:
                raise EvalcliffError(
                    f"--baseline previous: variant {variant!r} has {len(runs)} run(s) in "
                    f"{self.path}; it needs two"
                )
            return runs[-2]
        runs = self.runs(ref)
        pinned = [r for r in runs if r.pinned]
        if pinned:
            return pinned[0]
        if runs:
            return runs[-1]
        known = ", ".join(sorted(self.variants())) or "none"
        raise EvalcliffError(
            f"--baseline {ref!r}: not a run id, 'previous', or a variant in {self.path} "
            f"(known: {known})"
        )

    def results(self, run_id: int) -> pd.DataFrame:
        """The run's per-item rows (columns per `RESULT_COLUMNS`), in recorded order."""
        with self._errors("cannot read"):
            df = pd.read_sql_query(
                f"SELECT {', '.join(_RESULT_COLS)} FROM results WHERE run_id = ? ORDER BY rowid",
                self._db,
                params=(run_id,),
            )
        for col, dtype in RESULT_COLUMNS.items():
            df[col] = df[col].astype(bool) if dtype == "bool" else df[col].astype(dtype)
        return df

    def artifact(self, run: StoredRun) -> RunArtifact:
        """The run as a `RunArtifact` (path `DB#run-ID`), for compare and drift."""
        return RunArtifact(
            path=Path(f"{self.path}#run-{run.id}"), header=run.header, results=self.results(run.id)
        )
