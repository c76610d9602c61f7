"""Ctrl-C and SIGTERM stop cleanly with their own exit codes; kill -9 leaves no orphan run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.runner.fake_server import FakeServer
from tests.runner.test_run_artifact import HEAD_ONLY


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        nxt = {c for c, p in parents.items() if p in frontier}
        found |= nxt
        frontier = nxt
    return found


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _setup(tmp_path: Path, url: str) -> tuple[Path, Path, dict[str, str]]:
    suite = tmp_path / "heads.yaml"
    suite.write_text(HEAD_ONLY)
    cfg = tmp_path / "v.toml"
    body = f'backend = "openai"\nmodel = "m"\nendpoints = ["{url}"]\nstream = false\n'
    body += "concurrency = 1\nmax_retries = 0\n"
    cfg.write_text(f"[variants.a]\n{body}\n[variants.b]\n{body}")
    env = {**os.environ, "EVALCLIFF_CACHE": str(tmp_path / "cache"), "PYTHONPATH": os.getcwd()}
    return suite, cfg, env


def _as_foreground() -> None:
    """Give the child Ctrl-C's default disposition, as a terminal's foreground job has.

    A shell without job control starts background commands (`make test &`, a CI step run in
    the background) with SIGINT ignored, every child inherits that, and Python then installs
    no KeyboardInterrupt handler: a Ctrl-C that no terminal could send was this test's flake.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_exits_with_its_own_code(tmp_path: Path, sig: int, code: int) -> None:
    with FakeServer(answer="x", delay_s=0.5) as server:
        suite, cfg, env = _setup(tmp_path, server.url)
        cmd = [sys.executable, "-m", "evalcliff.cli.main", "run", "a", "--suite", str(suite)]
        cmd += ["--config", str(cfg), "--out", str(tmp_path / "a.parquet")]
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_as_foreground
        )
        deadline = time.monotonic() + 60
        while server.total < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == code, err.decode()
        assert b"Traceback" not in err


def test_kill_9_of_report_leaves_no_orphan_run(tmp_path: Path) -> None:
    with FakeServer(answer="x", delay_s=0.3) as server:
        suite, cfg, env = _setup(tmp_path, server.url)
        cmd = [sys.executable, "-m", "evalcliff.cli.main", "report", "--base", "a", "--cand"]
        cmd += ["b", "--suite", str(suite), "--config", str(cfg), "--out", str(tmp_path / "r")]
        cmd += ["--runs-dir", str(tmp_path / "runs")]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while server.total < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert workers, "report runs its variants in worker processes"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers if _alive(p)], "workers outlived a killed report"
        asked = server.total
        time.sleep(1.0)
        assert server.total <= asked + 1, "nobody is asking the server any more"
