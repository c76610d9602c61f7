"""A history database is checked when it is opened: a file that says "evalcliff history"
but lacks its tables is refused in one line (before `run --db`/`report --db` do any work),
reading commands never create a database, and SQLite's errors name the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalcliff.cli.history import Recorder
from evalcliff.cli.main import cli
from evalcliff.errors import EvalcliffError
from evalcliff.history import HistoryStore
from evalcliff.results import read_run


def _v1_without_tables(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    return path


def _one_line(res: object) -> str:
    out = getattr(res, "output", "")
    assert getattr(res, "exit_code", None) == 2, out
    assert "Traceback" not in out and "internal error" not in out, out
    lines = out.strip().splitlines()
    assert lines and lines[-1].startswith("evalcliff: error: "), out
    return str(lines[-1])


def _run(tmp_path: Path, mini_suite: Path, mock_config: Path, name: str = "good") -> Path:
    out = tmp_path / f"{name}.parquet"
    res = CliRunner().invoke(cli, ["run", name, "--suite", str(mini_suite), "--config",
                                   str(mock_config), "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    return out


def test_a_version_1_database_without_tables_is_refused_when_opened(tmp_path: Path) -> None:
    db = _v1_without_tables(tmp_path / "v1.db")
    with pytest.raises(EvalcliffError, match=r"v1\.db: .*lacks table runs.*not a usable"):
        HistoryStore(db)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, variant TEXT)")
    con.commit()
    con.close()
    with pytest.raises(EvalcliffError, match=r"lacks runs\.at, runs\.added_at"):
        HistoryStore(db)
    HistoryStore(tmp_path / "good.db").close()
    HistoryStore(tmp_path / "good.db").close()  # a real one opens again


@pytest.mark.parametrize("args", [["history", "list"], ["history", "show", "1"],
                                  ["history", "export", "--out", "EX"], ["history", "pin", "1"],
                                  ["history", "prune", "--keep-last", "1"],
                                  ["history", "add", "RUN"]])  # fmt: skip
def test_history_commands_on_a_tableless_database_are_one_line(
    tmp_path: Path, mini_suite: Path, mock_config: Path, args: list[str]
) -> None:
    db = _v1_without_tables(tmp_path / "v1.db")
    run = _run(tmp_path, mini_suite, mock_config)
    args = [str(run) if a == "RUN" else str(tmp_path / "ex") if a == "EX" else a for a in args]
    line = _one_line(CliRunner().invoke(cli, [*args, "--db", str(db)]))
    assert str(db) in line and "lacks table runs" in line


def test_run_and_report_check_the_database_before_any_work(
    tmp_path: Path, mini_suite: Path, mock_config: Path
) -> None:
    db = _v1_without_tables(tmp_path / "v1.db")
    out = tmp_path / "g.parquet"
    res = CliRunner().invoke(cli, [
        "run", "good", "--suite", str(mini_suite), "--config", str(mock_config),
        "--out", str(out), "--db", str(db),
    ])  # fmt: skip
    assert "lacks table runs" in _one_line(res)
    assert not out.exists() and "3/30" not in res.output  # nothing was run
    runs = tmp_path / "runs"
    res = CliRunner().invoke(cli, [
        "report", "--base", "good", "--cand", "bad", "--suite", str(mini_suite),
        "--config", str(mock_config), "--out", str(tmp_path / "rep"), "--runs-dir", str(runs),
        "--db", str(db),
    ])  # fmt: skip
    assert "lacks table runs" in _one_line(res)
    assert not list(runs.rglob("*.parquet"))


@pytest.mark.parametrize("args", [["history", "list"], ["history", "show", "1"],
                                  ["history", "export", "--out", "EX"], ["history", "pin", "1"],
                                  ["history", "prune", "--keep-last", "1"]])  # fmt: skip
def test_reading_commands_never_create_a_database(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "missing" / "dir" / "x.db"
    args = [str(tmp_path / "ex") if a == "EX" else a for a in args]
    line = _one_line(CliRunner().invoke(cli, [*args, "--db", str(db)]))
    assert line == (
        f"evalcliff: error: history db {db}: not found (record runs with `evalcliff history"
        " add` or `run/report --db`, or give --db the right file)"
    )
    assert not (tmp_path / "missing").exists()


def test_reading_the_default_database_that_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVALCLIFF_DB", raising=False)
    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "c"))
    assert "not found" in _one_line(CliRunner().invoke(cli, ["history", "list"]))
    assert not (tmp_path / "c").exists()


def test_writing_commands_still_create_the_database(
    tmp_path: Path, mini_suite: Path, mock_config: Path
) -> None:
    run = _run(tmp_path, mini_suite, mock_config)
    db = tmp_path / "new" / "dir" / "h.db"
    res = CliRunner().invoke(cli, ["history", "add", str(run), "--db", str(db)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["history", "list", "--db", str(db)])
    assert res.exit_code == 0 and "good" in res.output


def test_a_database_under_a_file_is_one_line(
    tmp_path: Path, mini_suite: Path, mock_config: Path
) -> None:
    run = _run(tmp_path, mini_suite, mock_config)
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = CliRunner().invoke(cli, ["history", "add", str(run), "--db", str(afile / "h.db")])
    assert "cannot create its directory" in _one_line(res)
    with pytest.raises(EvalcliffError, match="is a directory"):
        HistoryStore(tmp_path)


def test_a_locked_database_is_one_line_naming_it(
    tmp_path: Path, mini_suite: Path, mock_config: Path
) -> None:
    art = read_run(_run(tmp_path, mini_suite, mock_config))
    db = tmp_path / "h.db"
    HistoryStore(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with (
            HistoryStore(db, busy_timeout_s=0.1) as store,
            pytest.raises(EvalcliffError, match=r"h\.db: cannot write: database is locked"),
        ):
            store.add(art)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with HistoryStore(db) as store:
        assert store.runs() == []


def test_a_failed_recording_says_the_run_files_are_kept(
    tmp_path: Path, mini_suite: Path, mock_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _run(tmp_path, mini_suite, mock_config)
    db = tmp_path / "h.db"

    def full(self: HistoryStore, *args: object, **kwargs: object) -> int:
        with self._write():
            raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(HistoryStore, "add", full)
    with pytest.raises(EvalcliffError) as info:
        Recorder(db, {}).record([run])
    msg = str(info.value)
    assert "cannot write: database or disk is full" in msg
    assert f"record them later with `evalcliff history add {run} --db {db}`" in msg
