"""Read and write run artifacts: one parquet file per run, its header inside.

The header (`RunHeader`, JSON) is stored in the parquet file's key-value metadata under
`evalcliff.header`, so rows and header are written together by one atomic rename: a crash
can leave the old file or the new one, never a mix. JSONL results (rows only, no header)
stay readable. Readers validate columns, value ranges and the header's schema version, and
raise `EvalcliffError` naming the file.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from evalcliff.errors import EvalcliffError
from evalcliff.schema.run import REQUIRED_COLUMNS, RESULT_COLUMNS, RunArtifact, RunHeader
from evalcliff.schema.version import check_version

HEADER_KEY = b"evalcliff.header"
RESULT_SUFFIXES = (".parquet", ".jsonl")


def _coerce(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise EvalcliffError(f"{path}: missing result column(s) {missing}; see README 'Results'")
    df = df.copy()
    for col, dtype in RESULT_COLUMNS.items():
        if col not in df.columns:
            df[col] = pd.NA if dtype == "string" else float("nan")
        if dtype == "bool":
            if df[col].isna().any():
                raise EvalcliffError(f"{path}: column '{col}' has missing values")
            if not df[col].map(lambda v: isinstance(v, bool | int) or hasattr(v, "dtype")).all():
                raise EvalcliffError(f"{path}: column '{col}' must hold true/false values")
            df[col] = df[col].astype(bool)
        else:
            try:
                df[col] = df[col].astype(dtype)
            except (TypeError, ValueError) as exc:
                raise EvalcliffError(f"{path}: column '{col}' is not {dtype}: {exc}") from None
    bad = df["score"].isna() | (df["score"] < 0) | (df["score"] > 1)
    if bad.any():
        first = df.loc[bad, "item_id"].iloc[0]
        raise EvalcliffError(f"{path}: 'score' must be in [0, 1]; item {first!r} is not")
    dup = df["item_id"].duplicated()
    if dup.any():
        raise EvalcliffError(f"{path}: duplicate item_id {df.loc[dup, 'item_id'].iloc[0]!r}")
    extra = [c for c in df.columns if c not in RESULT_COLUMNS]
    return df[list(RESULT_COLUMNS) + extra].reset_index(drop=True)


def _parse_header(raw: bytes, path: Path) -> RunHeader:
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalcliffError(f"{path}: run header is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EvalcliffError(f"{path}: run header is not a JSON object")
    data = check_version(data, f"{path}: run header")
    try:
        return RunHeader.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise EvalcliffError(f"{path}: run header field {loc}: {err['msg']}") from None


def _check_suffix(path: Path) -> None:
    if path.suffix not in RESULT_SUFFIXES:
        raise EvalcliffError(
            f"{path}: unknown results format {path.suffix or '(no suffix)'!r}; "
            "use .parquet (or .jsonl to read)"
        )


def read_run(path: str | Path) -> RunArtifact:
    """A run as stored: header (None for JSONL or a parquet file written by another tool)
    and validated rows."""
    path = Path(path)
    _check_suffix(path)
    if not path.is_file():
        raise EvalcliffError(f"{path}: results file not found")
    header: RunHeader | None = None
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            meta = table.schema.metadata or {}
            if HEADER_KEY in meta:
                header = _parse_header(meta[HEADER_KEY], path)
            df = table.to_pandas()
        else:
            with path.open(encoding="utf-8") as f:
                df = pd.read_json(f, lines=True, dtype=False)
    except EvalcliffError:
        raise
    except UnicodeDecodeError as exc:
        raise EvalcliffError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except Exception as exc:  # pyarrow/json errors are not actionable as tracebacks
        raise EvalcliffError(f"{path}: cannot read results: {exc}") from None
    return RunArtifact(path=path, header=header, results=_coerce(df, path))


def read_results(path: str | Path) -> pd.DataFrame:
    """The validated rows of a results file (.parquet or .jsonl)."""
    return read_run(path).results


def read_header(path: str | Path) -> RunHeader | None:
    """The header stored in a results file (None when it has none)."""
    return read_run(path).header


class WriteError(EvalcliffError):
    """A results file could not be written (the disk is full, no permission, ...)."""

    def __init__(self, path: Path, exc: OSError, note: str = "") -> None:
        self.path, self.cause = path, exc
        super().__init__(f"{path}: cannot write the results file ({_reason(exc)}){note}")


def _reason(exc: OSError) -> str:
    """The OS's words for `exc` ("No space left on device"), not pyarrow's wrapping."""
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc)


def write_results(df: pd.DataFrame, path: str | Path, header: RunHeader | None = None) -> Path:
    """Write rows (and the header, which needs .parquet) atomically: a unique temporary file
    in the same directory, fsynced, then renamed over `path`. A run's writer holds the output
    lock (`evalcliff.locking`). Without a header, .parquet or .jsonl rows only. A file that
    cannot be written (disk full, no permission) is a `WriteError` naming it."""
    path = Path(path)
    _check_suffix(path)
    if header is not None and path.suffix != ".parquet":
        raise EvalcliffError(f"{path}: a run with its header is written as .parquet")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EvalcliffError(
            f"{path}: cannot create its directory {path.parent} ({_reason(exc)})"
        ) from None
    df = _coerce(df, path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        _write_file(df, path, tmp, header)
    except OSError as exc:  # disk full, quota, permissions: pyarrow's own traceback is no help
        raise WriteError(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_file(df: pd.DataFrame, path: Path, tmp: Path, header: RunHeader | None) -> None:
    """Write `df` to `tmp`, fsync it and rename it over `path`."""
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        if header is not None:
            meta = dict(table.schema.metadata or {})
            meta[HEADER_KEY] = header.model_dump_json().encode("utf-8")
            table = table.replace_schema_metadata(meta)
        pq.write_table(table, tmp)
    else:
        df.to_json(tmp, orient="records", lines=True, force_ascii=False)
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_run(df: pd.DataFrame, path: str | Path, header: RunHeader) -> Path:
    """A run artifact: rows and header in one parquet file (see `write_results`).

    When the file cannot be written (e.g. the disk is full) the EvalcliffError says where
    the run's answers are kept and what a rerun does with them.
    """
    try:
        return write_results(df, path, header)
    except WriteError as exc:
        runs = Path(os.environ.get("EVALCLIFF_CACHE", ".evalcliff")).resolve() / "runs"
        if header.model.weights_fingerprint is not None:
            note = (
                f"; the run's answers are kept in its run cache under {runs}: rerun the same "
                "command once the file can be written (e.g. there is room again) and it "
                "writes the file from that cache without generating them again"
            )
        else:
            note = (
                "; its model has no weights fingerprint (a served model), so its finished "
                "answers are not replayed: a rerun asks the model again"
            )
        raise WriteError(exc.path, exc.cause, note) from None
