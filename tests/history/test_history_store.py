"""The history store: round trip, references, pins, prune, export, migrations, concurrency."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalcliff.drift.simulate import synthetic_artifact, synthetic_manifest
from evalcliff.errors import EvalcliffError
from evalcliff.history import HistoryStore, export_history, parse_at, parse_tags
from evalcliff.results.io import write_results, write_run
from evalcliff.schema.run import RunArtifact

SLICES = {"head": 20, "code": 10}


def _artifact(seed: int = 0, at: str = "2026-01-05T03:00:00+00:00", variant: str = "prod",
              fingerprint: str | None = "fp-a") -> RunArtifact:  # fmt: skip
    rng = np.random.default_rng(seed)
    correct = {name: rng.random(n) < 0.7 for name, n in SLICES.items()}
    return synthetic_artifact(synthetic_manifest(SLICES), correct, variant=variant,
                              at=datetime.fromisoformat(at), fingerprint=fingerprint)  # fmt: skip


def test_round_trip_keeps_rows_header_tags_and_time(tmp_path: Path) -> None:
    art = _artifact()
    with HistoryStore(tmp_path / "h.db") as store:
        run_id = store.add(art, tags={"engine": "vllm-0.9"})
        run = store.get(run_id)
        df = store.results(run_id)
    assert run.variant == "prod" and run.at == "2026-01-05T03:00:00+00:00"
    assert run.tags == {"engine": "vllm-0.9"} and run.header == art.header
    assert run.n_items == 30 and run.n_errors == 0
    pd.testing.assert_frame_equal(df, art.results[df.columns.tolist()], check_dtype=True)


def test_jsonl_needs_a_variant_and_at_overrides(tmp_path: Path) -> None:
    art = _artifact()
    path = write_results(art.results, tmp_path / "r.jsonl")
    from evalcliff.results import read_run

    jsonl = read_run(path)
    with HistoryStore(tmp_path / "h.db") as store:
        with pytest.raises(EvalcliffError, match="--variant"):
            store.add(jsonl)
        run_id = store.add(jsonl, variant="served", at=parse_at("2026-02-01"))
        assert store.get(run_id).at == "2026-02-01T00:00:00+00:00"
        assert store.get(run_id).header is None


def test_references_pins_and_previous(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        ids = [store.add(_artifact(i, f"2026-01-{5 + 7 * i:02d}T00:00:00+00:00"))
               for i in range(3)]  # fmt: skip
        assert store.resolve("prod", "prod").id == ids[2]  # no pin: latest
        assert store.resolve("previous", "prod").id == ids[1]
        assert store.resolve(str(ids[0]), "prod").id == ids[0]
        store.pin(ids[0])
        assert store.resolve("prod", "prod").id == ids[0]
        store.pin(ids[1])  # re-pinning replaces the pin
        assert [r.id for r in store.runs("prod") if r.pinned] == [ids[1]]
        with pytest.raises(EvalcliffError, match="known: prod"):
            store.resolve("nope", "prod")
        with pytest.raises(EvalcliffError, match="no run with id 99"):
            store.resolve("99", "prod")


def test_runs_order_by_time_not_insertion(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        late = store.add(_artifact(0, "2026-03-01T00:00:00+00:00"))
        early = store.add(_artifact(1, "2026-01-01T00:00:00+00:00"))
        assert [r.id for r in store.runs("prod")] == [early, late]
        assert store.latest("prod").id == late


def test_prune_keeps_pinned_and_newest(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        ids = [store.add(_artifact(i, f"2026-01-{1 + i:02d}T00:00:00+00:00")) for i in range(5)]
        store.pin(ids[0])
        assert [r.id for r in store.prune(keep_last=2, dry_run=True)] == ids[1:3]
        assert len(store.runs()) == 5
        gone = store.prune(keep_last=2)
        assert [r.id for r in gone] == ids[1:3]
        assert [r.id for r in store.runs()] == [ids[0], ids[3], ids[4]]
        assert store.results(ids[1]).empty  # rows went with the run
        gone = store.prune(before=parse_at("2026-01-05"))
        assert [r.id for r in gone] == [ids[3]]
        with pytest.raises(EvalcliffError, match="--keep-last"):
            store.prune()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export(tmp_path: Path, fmt: str) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        store.add(_artifact(0), tags={"k": "v"})
        store.add(_artifact(1, variant="other"))
        runs_path, results_path = export_history(store, tmp_path / "x", fmt)  # type: ignore[arg-type]
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    runs, results = read(runs_path), read(results_path)
    assert list(runs["variant"]) == ["prod", "other"] and len(results) == 60
    assert runs.loc[0, "tags"] == '{"k": "v"}' and runs.loc[0, "weights_fingerprint"] == "fp-a"


def test_schema_version_and_foreign_files(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    HistoryStore(db).close()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.execute("PRAGMA user_version = 7")
    con.commit()
    con.close()
    with pytest.raises(EvalcliffError, match="newer than this evalcliff"):
        HistoryStore(db)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(EvalcliffError, match="not an evalcliff history"):
        HistoryStore(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(EvalcliffError, match="history db"):
        HistoryStore(junk)


def test_tags_and_times_are_validated() -> None:
    assert parse_tags(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    for bad in (["novalue"], ["=v"], ["a=1", "a=2"], ["a=\n"]):
        with pytest.raises(EvalcliffError, match="--tag"):
            parse_tags(bad)
    with pytest.raises(EvalcliffError, match="ISO-8601"):
        parse_at("last tuesday")
    assert parse_at("2026-01-05T04:00:00+01:00").tzinfo is not None
    assert parse_at("2026-01-05").tzinfo == UTC


def test_two_processes_adding_at_once_lose_nothing(tmp_path: Path) -> None:
    path = write_run(_artifact().results, tmp_path / "r.parquet", _artifact().header)  # type: ignore[arg-type]
    db = tmp_path / "h.db"
    script = textwrap.dedent(f"""
        import sys
        from evalcliff.history import HistoryStore
        from evalcliff.results import read_run
        art = read_run({str(path)!r})
        store = HistoryStore({str(db)!r})
        for i in range(15):
            store.add(art, tags={{"writer": sys.argv[1], "i": str(i)}})
        store.close()
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, w]) for w in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with HistoryStore(db) as store:
        runs = store.runs()
        assert len(runs) == 30 and len({r.id for r in runs}) == 30
        assert sorted((r.tags["writer"], int(r.tags["i"])) for r in runs) == sorted(
            (w, i) for w in "ab" for i in range(15)
        )
        assert all(len(store.results(r.id)) == 30 for r in runs)
