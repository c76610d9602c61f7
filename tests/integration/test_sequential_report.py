"""`report --sequential K` end to end with the mock backend: a decided slice stops at look 1,
the merged runs and summary carry the design, the exit code is the verdict, a killed report
resumes from its finished looks, and a changed policy re-decides instead of reusing."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import evalcliff.sequential as sequential
from evalcliff.cli.main import cli
from evalcliff.results.io import read_run
from evalcliff.sequential import look_path, merged_path

SUITE = """\
name: seq
version: 1
seed: 3
slices:
  head:
    generator: head
    scorer: exact
    weight: 0.9
    margin: 0.05
    generation: {max_gen_toks: 12, until: ["\\n"]}
    strata: {task: [succ, copy]}
    items_per_stratum: 130
  low_resource:
    generator: native_digits
    scorer: script
    weight: 0.1
    margin: 0.05
    generation: {max_gen_toks: 12, until: ["\\n"]}
    strata: {lang: [hi, km]}
    items_per_stratum: 4
"""
# names with dots and spaces: file names are made safe, the report keeps the names
BASE, CAND, BAD = "base v1.0", "cand.q4 new", "bad.q2"
CONFIG = f"""\
[variants."{BASE}"]
backend = "mock"

[variants."{CAND}"]
backend = "mock"
seed = 5

[variants."{BAD}"]
backend = "mock"
error_rate = 0.6
seed = 3
"""


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "seq.yaml").write_text(SUITE)
    (tmp_path / "v.toml").write_text(CONFIG)
    return {"suite": tmp_path / "seq.yaml", "config": tmp_path / "v.toml", "dir": tmp_path}


def _report(s: dict[str, Path], cand: str, out: str, *extra: str) -> Any:
    args = [
        "report", "--base", BASE, "--cand", cand, "--suite", str(s["suite"]),
        "--config", str(s["config"]), "--out", str(s["dir"] / out),
        "--runs-dir", str(s["dir"] / "runs"), "--sequential", "2", "--no-divergence", *extra,
    ]  # fmt: skip
    return CliRunner().invoke(cli, args)


def _summary(s: dict[str, Path], out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((s["dir"] / out / "summary.json").read_text())
    return data


def test_stops_a_decided_slice_at_look_1_and_resumes_after_a_kill(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = setup["dir"] / "runs" / "seq"
    real = sequential.many_runner

    @contextlib.contextmanager
    def killed_at_look_2(*args: Any, **kwargs: Any) -> Iterator[sequential.RunLook]:
        with real(*args, **kwargs) as run:

            def look(k: int, delta: list[Any]) -> Any:
                if k == 2:
                    raise KeyboardInterrupt  # as Ctrl-C (or a kill) during look 2
                return run(k, delta)

            yield look

    monkeypatch.setattr(sequential, "many_runner", killed_at_look_2)
    res = _report(setup, CAND, "aa")
    assert res.exit_code == 130, res.output
    assert look_path(runs, BASE, 2, 1).exists() and look_path(runs, CAND, 2, 1).exists()
    assert not merged_path(runs, CAND, 2).exists()
    monkeypatch.undo()

    res = _report(setup, CAND, "aa")
    assert res.exit_code == 0, res.output  # GO
    look1 = next(line for line in res.output.splitlines() if line.startswith("look 1/2"))
    assert look1.count("reused") == 2, look1  # the finished look was not run again
    assert "decided: head pass" in look1
    summary = _summary(setup, "aa")
    assert summary["verdict"] == "go"
    rows = {r["slice"]: r for r in summary["slices"]}
    assert rows["head"]["sequential"] == {
        "look": 1, "looks": 2, "boundary": pytest.approx(2.797, abs=0.02),
        "information": 0.5, "items_used": 130, "items_max": 260,
    }  # fmt: skip
    assert rows["low_resource"]["sequential"]["look"] == 2
    assert rows["head"]["n"] == 130 and rows["low_resource"]["n"] == 8
    seq = summary["sequential"]
    assert (seq["items_used"], seq["items_max"], seq["items_saved"]) == (138, 268, 130)
    assert seq["seconds_saved_estimate"] is not None and seq["seconds_saved_estimate"] > 0
    for name in (BASE, CAND):
        run = read_run(merged_path(runs, name, 2))
        assert run.header is not None and run.header.variant == name
        assert run.header.sequential is not None and run.header.sequential.looks == 2
        assert run.header.n_items == len(run.results) == run.header.suite.n_items == 138
    md = (setup["dir"] / "aa" / "summary.md").read_text()
    assert "Sequential run (2 looks): 138 of 268 items" in md and "(look 1/2)" in md
    assert "stopped at look 1 of 2" in (setup["dir"] / "aa" / "junit.xml").read_text()
    html = (setup["dir"] / "aa" / "report.html").read_text()
    assert "95% repeated CI" in html and "stopped at look 1 of 2" in html
    assert "SEQUENTIAL RUN (2 looks)" in res.output

    # compare, from the stored runs alone, judges them by their design too
    res = CliRunner().invoke(
        cli,
        [
            "compare", "--base", str(merged_path(runs, BASE, 2)),
            "--cand", str(merged_path(runs, CAND, 2)), "--out", str(setup["dir"] / "c"),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    again = _summary(setup, "c")
    assert again["slices"][0]["ci_low"] == summary["slices"][0]["ci_low"]
    assert again["sequential"]["items_saved"] == 130


def test_a_changed_margin_re_decides_and_never_reuses_the_other_designs_look(
    setup: dict[str, Path],
) -> None:
    runs = setup["dir"] / "runs" / "seq"
    strict = setup["dir"] / "strict.yaml"
    strict.write_text("slices:\n  head: {margin: 0.001}\n")
    res = _report(setup, CAND, "strict", "--policy", str(strict))
    assert res.exit_code == 0, res.output
    rows = {r["slice"]: r for r in _summary(setup, "strict")["slices"]}
    # with a 0.1-point margin no early look can show non-inferiority: head runs to the end
    assert rows["head"]["sequential"]["look"] == 2 and rows["head"]["n"] == 260
    assert read_run(look_path(runs, CAND, 2, 2)).results["slice"].eq("head").any()

    res = _report(setup, CAND, "loose")
    assert res.exit_code == 0, res.output
    rows = {r["slice"]: r for r in _summary(setup, "loose")["slices"]}
    assert rows["head"]["sequential"]["look"] == 1 and rows["head"]["n"] == 130
    look2 = read_run(look_path(runs, CAND, 2, 2)).results
    assert set(look2["slice"]) == {"low_resource"}  # look 2 was run for this design
    assert read_run(merged_path(runs, CAND, 2)).header.n_items == 138  # type: ignore[union-attr]


def test_a_clear_loss_is_no_go_at_look_1(setup: dict[str, Path]) -> None:
    res = _report(setup, BAD, "bad")
    assert res.exit_code == 1, res.output
    summary = _summary(setup, "bad")
    head = next(r for r in summary["slices"] if r["slice"] == "head")
    assert head["status"] == "fail" and head["sequential"]["look"] == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--limit", "2"], "--sequential and --limit"),
        (["--sequential", "1"], "--sequential"),
    ],
)
def test_refused_before_any_work(setup: dict[str, Path], extra: list[str], message: str) -> None:
    res = _report(setup, CAND, "x", *extra)
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (setup["dir"] / "runs" / "seq").exists() or not any(
        (setup["dir"] / "runs" / "seq").glob("*.seq*")
    )


def test_lm_eval_task_slices_are_refused(setup: dict[str, Path]) -> None:
    suite = setup["suite"]
    suite.write_text(
        SUITE + "  task:\n    lm_eval_task: my_task\n    scorer: acc\n    weight: 0.1\n"
    )
    res = _report(setup, CAND, "x")
    assert res.exit_code == 2 and "cannot be split into looks" in res.output, res.output
