"""End to end on the real embedded model (CPU): run, resume after kill -9, compare, report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.results import read_results

pytestmark = pytest.mark.slow


def _run_cmd(variant: str, suite: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "evalcliff.cli.main",
        "run",
        variant,
        "--suite",
        str(suite),
        "--out",
        str(out),
    ]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "EVALCLIFF_CACHE": str(cache), "OMP_NUM_THREADS": "1"}


def test_report_fp16_vs_q4_and_aa(tmp_path: Path, mini_suite: Path) -> None:
    runner = CliRunner()
    common = ["--suite", str(mini_suite), "--runs-dir", str(tmp_path / "runs")]
    res = runner.invoke(
        cli, ["report", "--base", "fp16", "--cand", "q4", "--out", str(tmp_path / "q4"), *common]
    )
    assert res.exit_code in (0, 1, 3), res.output
    summary = json.loads((tmp_path / "q4" / "summary.json").read_text())
    assert {"head", "long_context", "low_resource", "multihop_arith", "code"} == {
        s["slice"] for s in summary["slices"]
    }
    assert summary["cand"]["settings"]["quantization"]["bits"] == 4
    assert summary["cand"]["model"]["weights_fingerprint"].startswith("sha256:")
    assert summary["base"]["suite"]["content_hash"] == summary["cand"]["suite"]["content_hash"]
    html = (tmp_path / "q4" / "report.html").read_text()
    assert "<script src" not in html and "forest" in html.lower()
    # the base run is reused for the A/A comparison, which must be GO with all deltas 0
    res = runner.invoke(
        cli, ["report", "--base", "fp16", "--cand", "fp16", "--out", str(tmp_path / "aa"), *common]
    )
    assert res.exit_code == 0, res.output
    aa = json.loads((tmp_path / "aa" / "summary.json").read_text())
    assert aa["verdict"] == "go"
    assert all(s["delta"] == 0 and s["ci_low"] == 0 and s["ci_high"] == 0 for s in aa["slices"])


def test_kill9_then_rerun_resumes_and_matches(tmp_path: Path, mini_suite: Path) -> None:
    whole = tmp_path / "whole.parquet"
    subprocess.run(
        _run_cmd("q3", mini_suite, whole),
        env=_env(tmp_path / "c1"),
        check=True,
        capture_output=True,
    )

    cache = tmp_path / "c2"
    out = tmp_path / "killed.parquet"
    proc = subprocess.Popen(
        _run_cmd("q3", mini_suite, out),
        env=_env(cache),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    journal: Path | None = None
    while time.time() < deadline:
        found = list(cache.glob("runs/*/journal.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 10:
            journal = found[0]
            break
        time.sleep(0.05)
    assert journal is not None, "the run never got going"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    done_before = {json.loads(x)["hash"] for x in journal.read_text().splitlines() if x}

    subprocess.run(
        _run_cmd("q3", mini_suite, out), env=_env(cache), check=True, capture_output=True
    )
    hashes = [json.loads(x)["hash"] for x in journal.read_text().splitlines() if x]
    # every item was computed exactly once across the two processes: none recomputed
    assert len(hashes) == len(set(hashes))
    assert done_before < set(hashes)
    a = read_results(whole).drop(columns="latency_s")
    b = read_results(out).drop(columns="latency_s")
    pd.testing.assert_frame_equal(a, b)
