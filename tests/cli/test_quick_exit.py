"""The CLI ends without the interpreter's teardown only when nothing is lost by it.

Each process here carries a sentinel object whose `__del__` writes a marker file: the
interpreter's teardown runs it, `os._exit` does not, so the marker tells which exit was
taken. After a quick exit, everything a run promises must be on disk: the results file, the
run cache (every finished request), the journal and the history record, with the right
exit code, on success and on each error exit.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evalcliff.cli import quick_exit
from evalcliff.results import read_run
from tests.conftest import MINI_SUITE

NO_CODE_SUITE = MINI_SUITE.split("  code:")[0]

# a sentinel whose finaliser only the interpreter's teardown runs, then the CLI (the mock
# backend can be made to fail or to go slowly)
CLI = """
import os, sys, time

class Sentinel:
    def __init__(self):
        # globals and builtins may be gone when __del__ runs
        self.path, self.open = os.environ["MARKER"], open

    def __del__(self):
        with self.open(self.path, "w") as f:
            f.write("teardown ran")

sentinel = Sentinel()
mode = os.environ.get("MOCK_MODE", "")
if mode:
    import evalcliff.backends.mock as mock

    original = mock.MockLM.generate_until

    def patched(self, requests, disable_tqdm=False):
        out = []
        for k, r in enumerate(requests):
            if mode == "fail" and k == 4:
                raise RuntimeError("backend died")
            if mode == "slow":
                time.sleep(0.3)
            out += original(self, [r], disable_tqdm)
        return out

    mock.MockLM.generate_until = patched
from evalcliff.cli.main import main

main()
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "EVALCLIFF_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": os.getcwd(),
        "MARKER": str(tmp_path / "marker"),
        **extra,
    }


def _run_cmd(tmp_path: Path, suite: Path, cfg: Path, *extra: str) -> list[str]:
    out = tmp_path / "good.parquet"
    cmd = [sys.executable, "-c", CLI, "run", "good", "--suite", str(suite), "--config", str(cfg)]
    return cmd + ["--out", str(out), *extra]


def _cache(tmp_path: Path) -> tuple[int, int, dict[str, object]]:
    """(answers in the run cache, journal lines, state.json) of the one run cache."""
    (rdir,) = (tmp_path / "cache" / "runs").iterdir()
    (db,) = rdir.glob("requests*.db")
    with sqlite3.connect(db) as conn:
        (answers,) = conn.execute('SELECT count(*) FROM "unnamed"').fetchone()
    journal = (rdir / "journal.jsonl").read_text().splitlines()
    assert all(json.loads(line)["hash"] for line in journal)  # whole lines only
    return int(answers), len(journal), json.loads((rdir / "state.json").read_text())


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    p = tmp_path / "nocode.yaml"
    p.write_text(NO_CODE_SUITE)
    return p


def test_open_writers_and_running_threads_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "pending.txt"
    with path.open("w") as f:
        f.write("buffered")
        assert str(path) in (quick_exit.open_for_writing() or [])
        assert any(str(path) in why for why in quick_exit.reasons_to_wait())
    assert str(path) not in (quick_exit.open_for_writing() or [])
    with path.open("r"):
        assert str(path) not in (quick_exit.open_for_writing() or [])
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, name="busy-worker")
    worker.start()
    try:
        assert any("busy-worker" in why for why in quick_exit.reasons_to_wait())
    finally:
        stop.set()
        worker.join()


EXIT = """
import atexit, os, sys
from evalcliff.cli import quick_exit

class Sentinel:
    def __init__(self):
        # globals and builtins may be gone when __del__ runs
        self.path, self.open = os.environ["MARKER"], open

    def __del__(self):
        with self.open(self.path, "w") as f:
            f.write("teardown ran")

sentinel = Sentinel()
atexit.register(lambda: print("atexit ran", flush=True))
if sys.argv[1] == "unclosed":
    pending = open(sys.argv[2], "w")
    pending.write("written by the teardown")  # buffered, never flushed or closed
print("stdout line")
quick_exit.exit_process(int(sys.argv[3]))
"""


@pytest.mark.parametrize("code", [0, 3])
def test_exit_process_skips_teardown_only_when_nothing_is_pending(
    tmp_path: Path, code: int
) -> None:
    env = _env(tmp_path)
    marker, pending = tmp_path / "marker", tmp_path / "pending.txt"
    done = subprocess.run(
        [sys.executable, "-c", EXIT, "clean", str(pending), str(code)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert done.stdout.splitlines() == ["stdout line", "atexit ran"]
    assert not marker.exists(), "nothing pending: the teardown is skipped"
    done = subprocess.run(
        [sys.executable, "-c", EXIT, "unclosed", str(pending), str(code)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert done.stdout.splitlines() == ["stdout line", "atexit ran"]  # callbacks ran once
    assert marker.exists(), "a file left open for writing: the usual exit"
    assert pending.read_text() == "written by the teardown"


def test_a_run_exits_quickly_with_everything_written(
    tmp_path: Path, suite: Path, mock_config: Path
) -> None:
    db = tmp_path / "history.db"
    done = subprocess.run(
        _run_cmd(tmp_path, suite, mock_config, "--db", str(db)),
        env=_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "marker").exists(), "the run skipped the interpreter's teardown"
    art = read_run(tmp_path / "good.parquet")
    assert art.header is not None and len(art.results) == art.header.n_items > 0
    answers, journal, state = _cache(tmp_path)
    assert answers == journal == art.header.n_items
    assert state["status"] == "finished"
    lines = done.stdout.splitlines()  # every line reached the pipe
    assert lines[0].endswith(str(tmp_path / "good.parquet"))
    assert lines[-1].endswith(str(db))
    with sqlite3.connect(db) as conn:
        (runs,) = conn.execute("SELECT count(*) FROM runs").fetchone()
    assert runs == 1


def test_a_failed_run_exits_2_quickly_and_keeps_finished_items(
    tmp_path: Path, suite: Path, mock_config: Path
) -> None:
    cmd = _run_cmd(tmp_path, suite, mock_config)
    done = subprocess.run(
        cmd, env=_env(tmp_path, MOCK_MODE="fail"), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "failed after partial progress" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "marker").exists()
    assert not (tmp_path / "good.parquet").exists()
    answers, journal, state = _cache(tmp_path)
    assert answers == journal == 4
    assert state["status"] == "running"
    again = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    art = read_run(tmp_path / "good.parquet")
    assert art.header is not None and art.header.perf.requests_computed == art.header.n_items - 4


def test_bad_input_exits_2_quickly(tmp_path: Path, suite: Path, mock_config: Path) -> None:
    cmd = [sys.executable, "-c", CLI, "run", "nope", "--suite", str(suite)]
    cmd += ["--config", str(mock_config)]
    done = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("evalcliff: error:") and "nope" in done.stderr
    assert not (tmp_path / "marker").exists()


def test_sigterm_exits_143_with_finished_items_kept(
    tmp_path: Path, suite: Path, mock_config: Path
) -> None:
    cmd = _run_cmd(tmp_path, suite, mock_config)
    proc = subprocess.Popen(
        cmd, env=_env(tmp_path, MOCK_MODE="slow"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    runs = tmp_path / "cache" / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        journals = list(runs.glob("*/journal.jsonl")) if runs.exists() else []
        if journals and len(journals[0].read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert not (tmp_path / "marker").exists()
    answers, journal, _ = _cache(tmp_path)
    # the signal may land between an answer's commit and its journal line
    assert journal >= 2 and journal <= answers <= journal + 1


class _Stream:
    """A text stream whose flush fails (a closed pipe) or works."""

    def __init__(self, broken: bool) -> None:
        self.broken, self.closed = broken, False

    def flush(self) -> None:
        if self.broken:
            raise BrokenPipeError(32, "Broken pipe")

    def write(self, s: str) -> int:
        if self.broken:
            raise BrokenPipeError(32, "Broken pipe")
        return len(s)


@pytest.mark.parametrize(
    ("stdout_broken", "stderr_broken", "code", "expected"),
    [
        (True, False, 0, 2),  # GO not all written: no verdict
        (True, False, 1, 2),  # nor NO-GO
        (True, False, 3, 2),
        (True, False, 143, 143),  # already not a verdict: kept
        (False, True, 0, None),  # only progress/notes lost: the verdict's code stays
        (False, False, 1, None),
    ],
)
def test_a_stream_that_cannot_be_flushed_at_exit(
    monkeypatch: pytest.MonkeyPatch,
    stdout_broken: bool,
    stderr_broken: bool,
    code: int,
    expected: int | None,
) -> None:
    silenced: list[int] = []
    monkeypatch.setattr(quick_exit, "silence_stream", lambda fd=1: silenced.append(fd))
    out, err = _Stream(stdout_broken), _Stream(stderr_broken)
    for name, stream in (("stdout", out), ("__stdout__", out), ("stderr", err)):
        monkeypatch.setattr(sys, name, stream)
    monkeypatch.setattr(sys, "__stderr__", err)
    if expected is None:
        quick_exit._flush_or_fail(code)  # no exit
        assert silenced == ([2, 2] if stderr_broken else [])
    else:
        with pytest.raises(SystemExit) as exc:
            quick_exit._flush_or_fail(code)
        assert exc.value.code == expected and silenced[0] == 1
