"""Read and write results files (parquet, or JSONL) and their headers.

A results file `X.parquet` (or `X.jsonl`) has its header in `X.header.json`.
Readers validate columns and value ranges and raise `EvalcliffError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from evalcliff.errors import EvalcliffError
from evalcliff.results.schema import REQUIRED_COLUMNS, RESULT_COLUMNS, RunHeader


def header_path(results_path: Path) -> Path:
    """`runs/fp16.parquet` -> `runs/fp16.header.json`."""
    return results_path.with_name(results_path.name.split(".")[0] + ".header.json")


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


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results table (.parquet or .jsonl), validated against the contract."""
    path = Path(path)
    if not path.exists():
        raise EvalcliffError(f"{path}: results file not found")
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix in (".jsonl", ".json"):
            df = pd.read_json(path, lines=True, dtype=False)
        else:
            raise EvalcliffError(f"{path}: unknown results format (use .parquet or .jsonl)")
    except EvalcliffError:
        raise
    except Exception as exc:  # pyarrow/json errors are not actionable as tracebacks
        raise EvalcliffError(f"{path}: cannot read results: {exc}") from None
    return _coerce(df, path)


def read_header(results_path: str | Path) -> dict[str, Any]:
    """The run header next to a results file, or a minimal stub when there is none."""
    hp = header_path(Path(results_path))
    if not hp.exists():
        return {"variant": Path(results_path).stem, "backend": "unknown", "note": "no header"}
    try:
        data = json.loads(hp.read_text())
    except json.JSONDecodeError as exc:
        raise EvalcliffError(f"{hp}: invalid JSON: {exc}") from None
    return dict(RunHeader.model_validate(data).model_dump())


def write_results(df: pd.DataFrame, path: str | Path, header: RunHeader | None = None) -> Path:
    """Write a results table atomically (tmp file + rename) and its header."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = _coerce(df, path)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".parquet":
        df.to_parquet(tmp, index=False)
    else:
        df.to_json(tmp, orient="records", lines=True, force_ascii=False)
    tmp.replace(path)
    if header is not None:
        header_path(path).write_text(json.dumps(header.model_dump(), indent=2, default=str))
    return path
