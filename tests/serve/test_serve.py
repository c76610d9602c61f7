"""Servers started from a command template: health wait, clean stop, clear failures."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
import requests

from evalcliff.config.variants import ServeConfig, load_variants
from evalcliff.errors import EvalcliffError
from evalcliff.results import read_header, read_results
from evalcliff.runner import run_variant
from evalcliff.serve import render_command, running_server
from evalcliff.suites.spec import load_suite

FAKE = str(Path(__file__).with_name("fake_openai_server.py"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); read its state
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_server_is_healthy_inside_and_stopped_after(tmp_path: Path) -> None:
    serve = ServeConfig(command=[sys.executable, FAKE, "{port}"], startup_timeout_s=30)
    with running_server("v", serve, "fake", tmp_path / "v.log") as (url, proc):
        assert requests.get(url + "/models", timeout=5).status_code == 200
        pid = proc.pid
    assert proc.poll() is not None and not _alive(pid)


def test_server_stopped_when_the_body_raises(tmp_path: Path) -> None:
    serve = ServeConfig(command=f"{sys.executable} {FAKE} {{port}}", startup_timeout_s=30)
    with (
        pytest.raises(KeyboardInterrupt),
        running_server("v", serve, "m", tmp_path / "l") as (
            _,
            proc,
        ),
    ):
        raise KeyboardInterrupt
    assert proc.poll() is not None


def test_server_that_exits_names_the_code_and_log(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('bad flag'); sys.exit(3)"]
    with (
        pytest.raises(EvalcliffError, match=r"exited with code 3.*bad flag"),
        running_server("v", ServeConfig(command=cmd), "m", tmp_path / "x.log"),
    ):
        pass


def test_server_never_healthy_times_out_and_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    cmd = [
        sys.executable,
        "-c",
        f"import os,time; open({str(pidfile)!r},'w').write(str(os.getpid())); time.sleep(60)",
    ]
    serve = ServeConfig(command=cmd, startup_timeout_s=1.5, stop_timeout_s=2)
    t0 = time.monotonic()
    with (
        pytest.raises(EvalcliffError, match="not healthy.*startup_timeout_s"),
        running_server("v", serve, "m", tmp_path / "x.log"),
    ):
        pass
    assert time.monotonic() - t0 < 20
    assert not _alive(int(pidfile.read_text()))


def test_unknown_placeholder_is_named() -> None:
    with pytest.raises(EvalcliffError, match="unknown placeholder"):
        render_command(ServeConfig(command="srv --gpu {gpu}"), 1, "m")
    argv = render_command(ServeConfig(command="vllm serve {model} --port {port}"), 8001, "m/x")
    assert argv == ["vllm", "serve", "m/x", "--port", "8001"]


def test_run_starts_and_stops_the_served_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variant with a serve table: the run starts the server, uses it, and stops it."""
    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    pidfile = tmp_path / "server.pid"
    cfg = tmp_path / "v.toml"
    cfg.write_text(
        "[variants.served]\n"
        'backend = "openai"\nmodel = "fake"\nstream = true\nconcurrency = 2\n'
        f'serve = {{ command = [{sys.executable!r}, {FAKE!r}, "{{port}}"], '
        f'env = {{ FAKE_ANSWER = "7", FAKE_PIDFILE = {str(pidfile)!r} }} }}\n'
    )
    variant = load_variants(cfg)["served"]
    out = tmp_path / "served.parquet"
    run_variant("served", variant, load_suite("smoke"), out, limit=1)
    df = read_results(out)
    assert df["error"].isna().all() and set(df["output"]) == {"7"}
    header = read_header(out)
    assert header is not None and len(df) == header.n_items == header.suite.n_items
    assert header.limit == 1
    assert (header.model.server_command or "").startswith(sys.executable)
    assert header.perf.ttft_s.p50 is not None
    assert not _alive(int(pidfile.read_text()))
