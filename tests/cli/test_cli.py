"""CLI: exit codes, one-line errors, compare on stored results alone."""

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.results import write_results


def _results(n: int, wrong: set[int], slice_name: str = "head") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [f"i{k}" for k in range(n)],
            "suite": "s",
            "slice": slice_name,
            "stratum": "all",
            "cluster_id": [f"i{k}" for k in range(n)],
            "prompt_hash": [f"h{k}" for k in range(n)],
            "output": ["<script>alert(1)</script>" if k in wrong else "ok" for k in range(n)],
            "target": "ok",
            "score": [0.0 if k in wrong else 1.0 for k in range(n)],
            "correct": [k not in wrong for k in range(n)],
            "catastrophic": False,
            "error": None,
            "latency_s": None,
        }
    )


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_on_every_command(runner: CliRunner) -> None:
    for args in (
        ["--help"],
        ["run", "--help"],
        ["compare", "--help"],
        ["report", "--help"],
        ["suites", "--help"],
        ["suites", "show", "--help"],
        ["suites", "build", "--help"],
    ):
        res = runner.invoke(cli, args)
        assert res.exit_code == 0, (args, res.output)


def test_compare_go_and_nogo_from_files_alone(runner: CliRunner, tmp_path: Path) -> None:
    base = write_results(_results(400, set()), tmp_path / "base.parquet")
    same = write_results(_results(400, set()), tmp_path / "same.jsonl")
    worse = write_results(_results(400, set(range(0, 400, 3))), tmp_path / "worse.parquet")
    res = runner.invoke(
        cli, ["compare", "--base", str(base), "--cand", str(same), "--out", str(tmp_path / "r1")]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "r1" / "summary.json").read_text())
    assert summary["verdict"] == "go"
    assert all(s["delta"] == 0 for s in summary["slices"])
    res = runner.invoke(
        cli, ["compare", "--base", str(base), "--cand", str(worse), "--out", str(tmp_path / "r2")]
    )
    assert res.exit_code == 1, res.output
    html = (tmp_path / "r2" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_compare_inconclusive_exit_3(runner: CliRunner, tmp_path: Path) -> None:
    base = write_results(_results(60, set()), tmp_path / "b.parquet")
    cand = write_results(_results(60, {5}), tmp_path / "c.parquet")
    res = runner.invoke(
        cli, ["compare", "--base", str(base), "--cand", str(cand), "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 3, res.output
    s = json.loads((tmp_path / "r" / "summary.json").read_text())["slices"][0]
    assert s["status"] == "inconclusive" and s["items_needed"] > 0


def test_bad_input_is_exit_2_with_one_line(runner: CliRunner, tmp_path: Path) -> None:
    base = write_results(_results(10, set()), tmp_path / "b.parquet")
    other = _results(10, set())
    other.loc[3, "prompt_hash"] = "different"
    cand = write_results(other, tmp_path / "c.parquet")
    res = runner.invoke(
        cli, ["compare", "--base", str(base), "--cand", str(cand), "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 2
    assert "i3" in res.output and "Traceback" not in res.output
    res = runner.invoke(
        cli,
        [
            "compare",
            "--base",
            str(tmp_path / "missing.parquet"),
            "--cand",
            str(cand),
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 2 and "not found" in res.output
    bad_policy = tmp_path / "p.yaml"
    bad_policy.write_text("margn: 0.1\n")
    res = runner.invoke(
        cli,
        [
            "compare",
            "--base",
            str(base),
            "--cand",
            str(base),
            "--policy",
            str(bad_policy),
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 2 and "margn" in res.output


def test_suites_show_and_build(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cli, ["suites", "show", "smoke"])
    assert res.exit_code == 0 and "long_context" in res.output and "774 items" in res.output
    res = runner.invoke(cli, ["suites", "build", "smoke", "--out", str(tmp_path / "b")])
    assert res.exit_code == 0
    man = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert man["n_items"] == 774


def test_report_end_to_end_with_mock_variants(
    runner: CliRunner, tmp_path: Path, mini_suite: Path, mock_config: Path
) -> None:
    out = tmp_path / "rep"
    res = runner.invoke(
        cli,
        [
            "report",
            "--base",
            "good",
            "--cand",
            "bad",
            "--suite",
            str(mini_suite),
            "--config",
            str(mock_config),
            "--out",
            str(out),
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
    )
    assert res.exit_code == 1, res.output
    assert (out / "report.html").exists()
    assert json.loads((out / "summary.json").read_text())["verdict"] == "no-go"
    res = runner.invoke(
        cli,
        [
            "report",
            "--base",
            "good",
            "--cand",
            "good",
            "--suite",
            str(mini_suite),
            "--config",
            str(mock_config),
            "--out",
            str(out),
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
    )
    assert res.exit_code in (0, 3), res.output
    summary = json.loads((out / "summary.json").read_text())
    assert all(s["delta"] == 0 for s in summary["slices"])


def test_noise_floor_of_a_deterministic_backend_is_zero(
    runner: CliRunner, tmp_path: Path, mini_suite: Path, mock_config: Path
) -> None:
    res = runner.invoke(
        cli,
        [
            "noise",
            "bad",
            "--suite",
            str(mini_suite),
            "--config",
            str(mock_config),
            "--out",
            str(tmp_path / "n"),
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
    )
    assert res.exit_code in (0, 3), res.output
    assert "A/A noise floor: 0 flips in 30 paired items" in res.output
    summary = json.loads((tmp_path / "n" / "summary.json").read_text())
    assert summary["cand"]["variant"] == "bad-copy"


def _header(variant: str, items_hash: str = "a" * 16, n: int = 60, n_errors: int = 0) -> Any:
    """A header that agrees with `_results(n, ...)` holding `n_errors` errored rows."""
    from evalcliff.schema import GenerationSettings, RunHeader, SliceManifest, SuiteManifest

    slices = {
        "head": SliceManifest(
            kind="generator",
            source="head_tasks",
            scorer="exact",
            generation=GenerationSettings(),
            weight=1.0,
            n=n,
            items_hash=items_hash,
        )
    }
    suite = SuiteManifest(
        name="s", version=1, seed=0, content_hash=items_hash, n_items=n, slices=slices
    )
    return RunHeader(
        run_key=f"k-{variant}", variant=variant, backend="mock", suite=suite, n_items=n,
        n_errors=n_errors,
    )  # fmt: skip


def test_compare_refuses_runs_of_different_suite_builds(runner: CliRunner, tmp_path: Path) -> None:
    from evalcliff.results import write_run

    base = write_run(_results(60, set()), tmp_path / "b.parquet", _header("b"))
    cand = write_run(_results(60, set()), tmp_path / "c.parquet", _header("c", "b" * 16))
    args = ["compare", "--base", str(base), "--cand", str(cand), "--out", str(tmp_path / "r")]
    res = runner.invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert "cannot be paired: slice 'head': items differ" in res.output
    assert "Traceback" not in res.output


def test_compare_outage_is_exit_2_and_errors_are_in_the_banner(
    runner: CliRunner, tmp_path: Path
) -> None:
    from evalcliff.results import write_run

    base = write_run(_results(400, set()), tmp_path / "b.parquet", _header("b", n=400))
    down = _results(400, set(range(400)))
    down["error"] = "connection refused"
    cand = write_run(down, tmp_path / "c.parquet", _header("c", n=400, n_errors=400))
    args = ["compare", "--base", str(base), "--cand", str(cand), "--out", str(tmp_path / "r")]
    res = runner.invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert "every item of the cand run (c) failed (400 errors): no data, no verdict" in res.output
    some = _results(400, set(range(4)))
    some.loc[:3, "error"] = "timeout"  # 1% of items: under the 2% limit
    cand = write_run(some, tmp_path / "c.parquet", _header("c", n=400, n_errors=4))
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "errors: base 0, cand 4 of 400 items (b vs c)" in res.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["n_paired"] == 396 and summary["slices"][0]["n_errors_cand"] == 4
    assert summary["base"]["variant"] == "b" and summary["schema_version"] >= 2
    assert summary["policy"]["slices"]["head"]["max_catastrophic_increase"] == 0.05


def test_an_internal_error_is_exit_2_never_1(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's own exit code for an uncaught exception is 1, which a CI gate reads as NO-GO
    # (and `drift` as "drifted"): a bug in evalcliff must not look like a verdict.
    import evalcliff.compare as compare_mod

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug somewhere")

    base = write_results(_results(10, set()), tmp_path / "b.parquet")
    monkeypatch.setattr(compare_mod, "compare_files", broken)
    res = runner.invoke(
        cli, ["compare", "--base", str(base), "--cand", str(base), "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 2, res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("evalcliff: internal error (not a verdict): ZeroDivisionError")
    assert "a bug somewhere" in last and "Traceback" in res.output
    # usage errors and --help keep click's own codes
    assert runner.invoke(cli, ["compare", "--help"]).exit_code == 0
    assert runner.invoke(cli, ["compare", "--no-such-flag"]).exit_code == 2


def _closed_stdout(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the CLI with stdout a pipe whose reader is gone (as `| head` after its line)."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "from evalcliff.cli.main import main; main()", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
    finally:
        os.close(write)
    return proc.returncode, proc.stderr


def test_a_closed_stdout_is_exit_2_not_the_verdict(tmp_path: Path) -> None:
    base = write_results(_results(400, set()), tmp_path / "base.parquet")
    worse = write_results(_results(400, set(range(0, 400, 3))), tmp_path / "worse.parquet")
    for cand, verdict in ((base, "go"), (worse, "no-go")):
        args = ["compare", "--base", str(base), "--cand", str(cand), "--out", str(tmp_path / "r")]
        code, err = _closed_stdout(args)
        assert code == 2, err
        assert "closed" in err and "not a verdict" in err and "Traceback" not in err
        # the verdict's files are complete all the same
        summary = json.loads((tmp_path / "r" / "summary.json").read_text())
        assert summary["verdict"] == verdict
    # a command whose output fills the pipe while it runs fails inside the command
    code, err = _closed_stdout(["suites", "show", "tail"])
    assert code == 2 and "closed" in err and "Traceback" not in err, err


def test_a_run_whose_every_item_failed_is_exit_2_and_stays_out_of_history(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from tests.runner.test_run_artifact import HEAD_ONLY

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    suite = tmp_path / "heads.yaml"
    suite.write_text(HEAD_ONLY)
    cfg = tmp_path / "v.toml"
    cfg.write_text(
        f'[variants.down]\nbackend = "openai"\nmodel = "m"\n'
        f'endpoints = ["http://127.0.0.1:{port}/v1"]\nmax_retries = 0\n'
    )
    out, db = tmp_path / "d.parquet", tmp_path / "h.db"
    args = ["run", "down", "--suite", str(suite), "--config", str(cfg), "--out", str(out)]
    res = runner.invoke(cli, [*args, "--db", str(db)])
    assert res.exit_code == 2, res.output
    assert "every item of 'down' failed" in res.output and "not recorded in history" in res.output
    assert "Traceback" not in res.output
    assert out.exists()  # the rows (and their errors) are kept
    listed = runner.invoke(cli, ["history", "list", "--db", str(db), "--json"])
    assert '"variant": "down"' not in listed.output


def test_a_small_slice_s_unreliable_ci_is_in_the_banner(runner: CliRunner, tmp_path: Path) -> None:
    from evalcliff.results import write_run

    base = write_run(_results(3, set()), tmp_path / "b.parquet", _header("b", n=3))
    cand = write_run(_results(3, set()), tmp_path / "c.parquet", _header("c", n=3))
    args = ["compare", "--base", str(base), "--cand", str(cand), "--out", str(tmp_path / "r")]
    res = runner.invoke(cli, args)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    unreliable = [w for w in summary["warnings"] if "may cover less than nominal" in w]
    assert unreliable, summary["warnings"]
    assert f"  ! {unreliable[0]}" in res.output


def test_a_refused_comparison_leaves_no_earlier_verdict(runner: CliRunner, tmp_path: Path) -> None:
    from evalcliff.results import write_run

    base = write_run(_results(60, set()), tmp_path / "b.parquet", _header("b"))
    cand = write_run(_results(60, set()), tmp_path / "c.parquet", _header("c"))
    out = tmp_path / "r"
    args = ["compare", "--base", str(base), "--cand", str(cand), "--out", str(out)]
    assert runner.invoke(cli, args).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["verdict"] == "go"
    other = write_run(_results(60, set()), tmp_path / "o.parquet", _header("o", "b" * 16))
    res = runner.invoke(cli, [*args[:3], "--cand", str(other), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert not [p.name for p in out.iterdir() if p.name != ".lock"]  # no GO left for CI to read


def test_a_report_refused_as_bad_input_leaves_no_earlier_verdict(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "summary.json").write_text('{"verdict": "go"}')
    res = runner.invoke(cli, ["report", "--base", "fp16", "--cand", "no-such", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert not (out / "summary.json").exists()
