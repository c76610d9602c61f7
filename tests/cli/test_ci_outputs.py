"""CI outputs: junit.xml, summary.md, $GITHUB_STEP_SUMMARY, --format json, non-TTY progress."""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.report.ci import junit_xml, md_escape, summary_markdown
from evalcliff.results import write_results
from evalcliff.runner.progress import Bars, LineProgress

HOSTILE = "<script>x</script>|[a](http://e)"


def _results(slices: dict[str, tuple[int, set[int]]]) -> pd.DataFrame:
    rows = []
    for name, (n, wrong) in slices.items():
        for k in range(n):
            rows.append(
                {
                    "item_id": f"{name}-{k}",
                    "suite": "s",
                    "slice": name,
                    "stratum": "all",
                    "cluster_id": f"{name}-{k}",
                    "prompt_hash": f"h{k}",
                    "output": "\x01" + HOSTILE if k in wrong else "ok",
                    "target": "ok",
                    "score": 0.0 if k in wrong else 1.0,
                    "correct": k not in wrong,
                    "catastrophic": False,
                    "error": None,
                    "latency_s": None,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    """Three slices: one passes, one fails, one is inconclusive."""
    base = _results({"good": (400, set()), "bad": (400, set()), "unsure": (60, set())})
    cand = _results(
        {"good": (400, set()), "bad": (400, set(range(0, 400, 3))), "unsure": (60, {5})}
    )
    return (
        write_results(base, tmp_path / "base.parquet"),
        write_results(cand, tmp_path / "cand.parquet"),
    )


def _compare(
    runs: tuple[Path, Path], out: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    res = CliRunner().invoke(
        cli,
        ["compare", "--base", str(runs[0]), "--cand", str(runs[1]), "--out", str(out), *extra],
        env=env,
    )
    return res.exit_code, res.stdout, res.stderr


def test_junit_one_testcase_per_slice(runs: tuple[Path, Path], tmp_path: Path) -> None:
    code, _, _ = _compare(runs, tmp_path / "r")
    assert code == 1
    root = ET.parse(tmp_path / "r" / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"good", "bad", "unsure"}
    assert cases["good"].find("failure") is None and cases["good"].find("skipped") is None
    failure = cases["bad"].find("failure")
    assert failure is not None and "margin" in (failure.get("message") or "")
    skipped = cases["unsure"].find("skipped")
    assert skipped is not None and "more paired items" in (skipped.get("message") or "")
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    assert suite.get("skipped") == "1"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "NO-GO"


def test_junit_strict_policy_makes_inconclusive_a_failure(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("inconclusive: no-go\n")
    code, _, _ = _compare(runs, tmp_path / "r", "--policy", str(policy))
    assert code == 1
    root = ET.parse(tmp_path / "r" / "junit.xml").getroot()
    unsure = next(c for c in root.iter("testcase") if c.get("name") == "unsure")
    failure = unsure.find("failure")
    assert failure is not None and failure.get("type") == "inconclusive"


def test_summary_md_and_step_summary_appended(runs: tuple[Path, Path], tmp_path: Path) -> None:
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    code, stdout, _ = _compare(runs, tmp_path / "r", env={"GITHUB_STEP_SUMMARY": str(step)})
    assert code == 1 and "VERDICT: NO-GO" in stdout
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "**NO-GO**" in md
    assert "| bad | ❌ fail |" in md and "| good | ✅ pass |" in md
    assert "| unsure | ⚠️ inconclusive |" in md
    assert step.read_text() == "earlier step\n" + md
    # a second run appends again: step summaries accumulate over a job
    _compare(runs, tmp_path / "r2", env={"GITHUB_STEP_SUMMARY": str(step)})
    assert step.read_text().count("### evalcliff") == 2


def test_unwritable_step_summary_warns_and_keeps_the_verdict(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    code, _, stderr = _compare(
        runs, tmp_path / "r", env={"GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "such" / "f")}
    )
    assert code == 1 and "GITHUB_STEP_SUMMARY" in stderr
    assert (tmp_path / "r" / "summary.md").exists()


def test_format_json_prints_only_the_summary(runs: tuple[Path, Path], tmp_path: Path) -> None:
    code, stdout, stderr = _compare(runs, tmp_path / "r", "--format", "json")
    assert code == 1
    data = json.loads(stdout)
    assert data["verdict"] == "no-go" and {s["slice"] for s in data["slices"]} == {
        "good",
        "bad",
        "unsure",
    }
    assert data == json.loads((tmp_path / "r" / "summary.json").read_text())
    assert "VERDICT: NO-GO" in stderr


def test_hostile_names_are_escaped(runs: tuple[Path, Path], tmp_path: Path) -> None:
    name = 'x"><script>alert(1)</script>|[l](http://e)\x07'
    base = _results({name: (50, set())})
    cand = _results({name: (50, set(range(10)))})
    b = write_results(base, tmp_path / "b.jsonl")
    c = write_results(cand, tmp_path / "c.jsonl")
    _compare((b, c), tmp_path / "r")
    xml_text = (tmp_path / "r" / "junit.xml").read_text()
    root = ET.fromstring(xml_text)  # well-formed despite the control character
    assert "<script>" not in xml_text
    assert next(root.iter("testcase")).get("name") == name.replace("\x07", "\ufffd")
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "<script>" not in md and "[l](http" not in md and "\\[l\\](http" in md
    row = next(line for line in md.splitlines() if "alert" in line)
    assert row.count(" | ") == row.replace("\\|", "").count(" | ")  # no extra column


def test_md_escape() -> None:
    assert md_escape("a|b\nc") == "a\\|b c"
    assert md_escape("<b>[x](y)") == "\\<b\\>\\[x\\](y)"


def test_junit_and_markdown_from_a_summary_without_slices() -> None:
    from evalcliff.gate import Policy
    from evalcliff.schema.summary import EffectivePolicy, Summary

    s = Summary(verdict="go", policy=EffectivePolicy(**Policy().model_dump(exclude={"slices"})),
                n_paired=0, n_items=0)  # fmt: skip
    root = ET.fromstring(junit_xml(s))
    assert root.get("tests") == "0"
    assert "**GO**" in summary_markdown(s)


def test_line_progress_prints_a_line_per_tenth_or_interval() -> None:
    out = io.StringIO()
    now = [0.0]
    p = LineProgress("q2", 1000, stream=out, clock=lambda: now[0])
    for _ in range(1000):
        p.advance()
    p.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1] == "q2: 1000/1000 (100%), 0s"
    assert "\r" not in out.getvalue()
    out2 = io.StringIO()
    slow = LineProgress("kl", None, stream=out2, clock=lambda: now[0])
    for _ in range(5):
        now[0] += 31
        slow.advance()
    slow.finish()
    assert len(out2.getvalue().splitlines()) == 6  # one per interval, then the last line


def test_bars_without_a_terminal_write_lines() -> None:
    out = io.StringIO()
    with Bars(["fp16", "q2"], stream=out) as bars:
        bars.total("fp16", 20)
        bars.total("q2", 20)
        for _ in range(20):
            bars.advance("fp16")
        bars.complete("q2", 20)
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    assert "fp16: 20/20 (100%)" in text and "q2: 20/20 (100%)" in text
    assert len(text.splitlines()) <= 12


def test_counter_without_a_terminal_is_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from evalcliff.runner.progress import counter

    with counter(50, "token KL") as bar:
        for _ in range(50):
            bar.update(1)
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[-1].startswith("token KL: 50/50 (100%)")
    assert len(err.splitlines()) == 10


def test_progress_on_a_closed_pipe_goes_quiet_and_the_work_goes_on() -> None:
    class Closed(io.StringIO):
        writes = 0

        def write(self, s: str) -> int:
            Closed.writes += 1
            raise BrokenPipeError(32, "Broken pipe")

    p = LineProgress("q2", 100, stream=Closed())
    for _ in range(100):
        p.advance()  # a line per tenth: the first fails, the rest are not tried
    p.finish()
    assert Closed.writes == 1


def test_a_rich_console_on_a_closed_pipe_never_exits_1() -> None:
    # rich's own Console ends the process with SystemExit(1) on a closed pipe, which a CI
    # gate reads as NO-GO; evalcliff's goes quiet (progress) or raises BrokenPipeError (the
    # CLI's exit code 2).
    import os

    from evalcliff.runner.progress import pipe_safe_console

    for keep_going in (True, False):
        read, write = os.pipe()
        os.close(read)
        with os.fdopen(write, "w") as f:
            console = pipe_safe_console(keep_going=keep_going, file=f, width=80)
            if keep_going:
                console.print("x")  # no SystemExit, no error
                assert console.quiet
            else:
                with pytest.raises(BrokenPipeError):
                    console.print("x")
            with contextlib.suppress(BrokenPipeError):
                f.close()
