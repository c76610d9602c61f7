"""Export the history: `runs.FMT` (one row per run) and `results.FMT` (one row per item and
run), as Parquet or CSV, for notebooks and dashboards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pandas as pd

from evalcliff.history.store import HistoryStore

Format = Literal["parquet", "csv"]


def runs_table(store: HistoryStore, variant: str | None = None) -> pd.DataFrame:
    """One row per run: id, variant, at, pinned, counts, fingerprint, suite, engine, tags."""
    rows = []
    for r in store.runs(variant):
        h = r.header
        server = h.model.server if h is not None else None
        rows.append(
            {
                "run_id": r.id,
                "variant": r.variant,
                "at": r.at,
                "added_at": r.added_at,
                "pinned": r.pinned,
                "source": r.source,
                "n_items": r.n_items,
                "n_errors": r.n_errors,
                "run_key": h.run_key if h is not None else None,
                "backend": h.backend if h is not None else None,
                "weights_fingerprint": h.model.weights_fingerprint if h is not None else None,
                "suite": h.suite.name if h is not None else None,
                "suite_hash": h.suite.content_hash if h is not None else None,
                "engine": server.model_dump_json() if server is not None else None,
                "tags": json.dumps(r.tags, sort_keys=True),
            }
        )
    return pd.DataFrame(rows)


def export_history(
    store: HistoryStore, out_dir: Path, fmt: Format = "parquet", variant: str | None = None
) -> list[Path]:
    """Write `out_dir/runs.FMT` and `out_dir/results.FMT`; returns the two paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = runs_table(store, variant)
    parts = [store.results(int(i)).assign(run_id=int(i)) for i in runs.get("run_id", [])]
    results = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"run_id": []})
    results = results[["run_id"] + [c for c in results.columns if c != "run_id"]]
    paths = [out_dir / f"runs.{fmt}", out_dir / f"results.{fmt}"]
    for df, path in zip((runs, results), paths, strict=True):
        if fmt == "parquet":
            df.to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False)
    return paths
