"""`run --db` and `report --db` record their finished runs (mock backend)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from evalcliff.cli import history as cli_history
from evalcliff.cli.main import cli
from evalcliff.history import DB_ENV, HistoryStore


def test_cli_env_name_is_the_store_s() -> None:
    assert cli_history.DB_ENV == DB_ENV == "EVALCLIFF_DB"


def test_run_records_with_db_and_tags(tmp_path: Path, mini_suite: Path, mock_config: Path) -> None:
    db = tmp_path / "h.db"
    args = ["run", "good", "--suite", str(mini_suite), "--config", str(mock_config),
            "--out", str(tmp_path / "good.parquet")]  # fmt: skip
    res = CliRunner().invoke(cli, [*args, "--db", str(db), "--tag", "engine=mock-1"])
    assert res.exit_code == 0, res.output
    assert "recorded" in res.output and "as run 1" in res.output
    with HistoryStore(db) as store:
        (run,) = store.runs("good")
        assert run.tags == {"engine": "mock-1"} and run.header is not None
        assert run.n_items == run.header.n_items == len(store.results(run.id))
    res = CliRunner().invoke(cli, [*args, "--tag", "engine=x"])
    assert res.exit_code == 2 and "--tag needs --db" in res.output


def test_report_records_both_runs_from_env(
    tmp_path: Path, mini_suite: Path, mock_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("EVALCLIFF_DB", str(db))
    res = CliRunner().invoke(cli, [
        "report", "--base", "good", "--cand", "bad", "--suite", str(mini_suite),
        "--config", str(mock_config), "--out", str(tmp_path / "rep"),
        "--runs-dir", str(tmp_path / "runs"), "--jobs", "1",
    ])  # fmt: skip
    assert res.exit_code == 1, res.output
    with HistoryStore(db) as store:
        assert sorted(r.variant for r in store.runs()) == ["bad", "good"]
