"""A drift review reads runs back from the history: a run whose rows disagree with its
header, or a headed run's items missing from the other run, stop the review (exit 2);
they never leave a STABLE on the rows that remain."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.drift import drift_review
from evalcliff.drift.simulate import weekly_history
from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy
from evalcliff.history import HistoryStore
from evalcliff.results import write_run
from evalcliff.schema.run import RunArtifact

POLICY = Policy(n_resamples=500)
QUIET = {"flaky": 0.01, "stable_flip": 0.002}


def _history(weeks: int = 3) -> list[tuple[datetime, RunArtifact]]:
    return weekly_history({"head": 200, "code": 100}, lambda s, w: 0.0, weeks=weeks, seed=4,
                          **QUIET)  # fmt: skip


def _rows(art: RunArtifact, rows: pd.DataFrame) -> RunArtifact:
    return RunArtifact(path=art.path, header=art.header, results=rows.reset_index(drop=True))


def test_a_latest_run_missing_a_slice_is_refused(tmp_path: Path) -> None:
    (at1, a1), (at2, a2) = _history(2)
    with HistoryStore(tmp_path / "h.db") as store:
        store.add(a1, at=at1)
        store.add(_rows(a2, a2.results[a2.results["slice"] == "head"]), at=at2)
        with pytest.raises(EvalcliffError) as caught:
            drift_review(store, "prod", "previous", POLICY)
    said = str(caught.value)
    assert said.startswith(f"{tmp_path / 'h.db'}#run-2: rows do not match the run header")
    assert "slice 'code' holds 0 rows, its suite manifest says 100" in said


def test_a_latest_run_without_its_failing_rows_is_refused(tmp_path: Path) -> None:
    (at1, a1), (at2, a2) = _history(2)
    with HistoryStore(tmp_path / "h.db") as store:
        store.add(a1, at=at1)
        store.add(_rows(a2, a2.results[a2.results["correct"]]), at=at2)
        with pytest.raises(EvalcliffError, match=r"#run-2: rows do not match the run header"):
            drift_review(store, "prod", "previous", POLICY)


def test_a_broken_baseline_is_refused(tmp_path: Path) -> None:
    (at1, a1), (at2, a2) = _history(2)
    with HistoryStore(tmp_path / "h.db") as store:
        store.add(_rows(a1, a1.results.iloc[:250]), at=at1)
        store.add(a2, at=at2)
        with pytest.raises(EvalcliffError, match=r"#run-1: rows do not match"):
            drift_review(store, "prod", "1", POLICY)


def test_a_broken_run_inside_the_trend_is_left_out_with_a_warning(tmp_path: Path) -> None:
    (at1, a1), (at2, a2), (at3, a3) = _history(3)
    with HistoryStore(tmp_path / "h.db") as store:
        store.pin(store.add(a1, at=at1))
        store.add(_rows(a2, a2.results.iloc[:250]), at=at2)
        store.add(a3, at=at3)
        report = drift_review(store, "prod", "prod", POLICY)
    assert report.status == "stable"
    assert sorted({p.run for p in report.trend}) == [3]
    assert any(w.startswith("trend: run 2 skipped:") and "rows do not match" in w
               for w in report.warnings)  # fmt: skip


def test_a_headerless_run_missing_items_of_a_headed_one_is_refused(tmp_path: Path) -> None:
    (at1, a1), (at2, a2) = _history(2)
    bare = RunArtifact(path=a2.path, header=None, results=a2.results.iloc[:250])
    with HistoryStore(tmp_path / "h.db") as store:
        store.add(a1, at=at1)
        store.add(bare, at=at2, variant="prod")
        with pytest.raises(EvalcliffError, match=r"#run-2 lacks 50 of the 300 items of .*#run-1"):
            drift_review(store, "prod", "previous", POLICY)


def test_drift_cli_exit_2_for_a_run_missing_rows(tmp_path: Path) -> None:
    # the hostile case: `history add` a full run, then a cut one; `drift` said STABLE, exit 0
    (_, a1), (_, a2) = _history(2)
    assert a1.header is not None and a2.header is not None
    full = write_run(a1.results, tmp_path / "full.parquet", a1.header)
    cut = a2.results[a2.results["slice"] == "head"]
    part = write_run(cut, tmp_path / "part.parquet", a2.header)
    db = str(tmp_path / "h.db")
    runner = CliRunner()
    for path in (full, part):
        res = runner.invoke(cli, ["history", "add", str(path), "--db", db])
        assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["drift", "prod", "--baseline", "1", "--db", db,
                              "--out", str(tmp_path / "d")])  # fmt: skip
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    assert "#run-2: rows do not match the run header" in lines[0]
