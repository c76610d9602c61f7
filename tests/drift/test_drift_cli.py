"""`evalcliff history …` and `evalcliff drift`: output contract and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.drift.simulate import weekly_history
from evalcliff.results.io import write_run

QUIET = {"flaky": 0.0, "stable_flip": 0.0}  # a deterministic model: stable weeks are equal


def _files(tmp_path: Path, drops: float, weeks: int = 3) -> list[tuple[str, Path]]:
    history = weekly_history({"head": 300, "code": 300},
                             lambda s, w: drops if s == "code" and w == weeks else 0.0,
                             weeks=weeks, seed=2, **QUIET)  # fmt: skip
    out = []
    for i, (at, art) in enumerate(history):
        assert art.header is not None
        out.append((at.isoformat(), write_run(art.results, tmp_path / f"w{i}.parquet",
                                              art.header)))  # fmt: skip
    return out


def _add(runner: CliRunner, db: Path, path: Path, *extra: str) -> int:
    res = runner.invoke(cli, ["history", "add", str(path), "--db", str(db), *extra])
    assert res.exit_code == 0, res.output
    return int(res.output.strip().splitlines()[-1])


def test_history_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "h.db"
    (at0, p0), (at1, p1), _ = _files(tmp_path, 0.0)
    first = _add(runner, db, p0, "--tag", "engine=vllm-0.9")
    second = _add(runner, db, p1, "--at", "2026-02-01", "--variant", "other")
    assert (first, second) == (1, 2)
    res = runner.invoke(cli, ["history", "list", "--db", str(db), "--json"])
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [r["variant"] for r in rows] == ["prod", "other"] and rows[0]["tags"]["engine"]
    assert rows[1]["at"] == "2026-02-01T00:00:00+00:00"
    res = runner.invoke(cli, ["history", "pin", "1", "--db", str(db)])
    assert res.exit_code == 0 and "pinned run 1" in res.output
    shown = json.loads(runner.invoke(cli, ["history", "show", "1", "--db", str(db)]).output)
    assert shown["pinned"] and shown["header"]["variant"] == "prod"
    assert set(shown["slices"]) == {"head", "code"}
    res = runner.invoke(cli, ["history", "export", "--db", str(db), "--out",
                              str(tmp_path / "x"), "--format", "csv"])  # fmt: skip
    assert res.exit_code == 0 and (tmp_path / "x" / "results.csv").is_file()
    res = runner.invoke(cli, ["history", "prune", "--db", str(db), "--keep-last", "1"])
    assert res.exit_code == 0 and "deleted 0 run(s)" in res.output  # one run per variant
    for bad in (["--at", "yesterday"], ["--tag", "novalue"]):
        res = runner.invoke(cli, ["history", "add", str(p0), "--db", str(db), *bad])
        assert res.exit_code == 2 and "evalcliff: error:" in res.output
    res = runner.invoke(cli, ["history", "add", str(tmp_path / "missing.parquet"),
                              "--db", str(db)])  # fmt: skip
    assert res.exit_code == 2


def test_history_default_db_from_env(tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    db = tmp_path / "env.db"
    monkeypatch.setenv("EVALCLIFF_DB", str(db))
    (_, p0), *_ = _files(tmp_path, 0.0)
    res = CliRunner().invoke(cli, ["history", "add", str(p0)])
    assert res.exit_code == 0 and db.is_file()


def test_drift_exit_codes_and_outputs(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "h.db"
    files = _files(tmp_path, 0.15)
    for _, p in files[:2]:
        _add(runner, db, p)
    out = tmp_path / "out"
    res = runner.invoke(cli, ["drift", "prod", "--baseline", "1", "--db", str(db),
                              "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "DRIFT: STABLE" in res.output
    _add(runner, db, files[2][1], "--tag", "engine=vllm-0.10")
    assert runner.invoke(cli, ["history", "pin", "2", "--db", str(db)]).exit_code == 0
    prom = tmp_path / "textfile" / "evalcliff.prom"
    prom.parent.mkdir()
    res = runner.invoke(cli, ["drift", "prod", "--baseline", "prod", "--db", str(db),
                              "--out", str(out), "--prom", str(prom)])  # fmt: skip
    assert res.exit_code == 1, res.output
    report = json.loads((out / "drift.json").read_text())
    assert {"status", "run", "baseline", "slices", "changes", "trend"} <= set(report)
    assert report["status"] == "drifted" and report["baseline"]["id"] == 2  # the pinned run
    assert [s["slice"] for s in report["slices"] if s["status"] == "fail"] == ["code"]
    assert {"slice", "status", "delta", "ci_low", "ci_high"} <= set(report["slices"][0])
    assert any(c["field"] == "tags.engine" for c in report["changes"])
    assert 'evalcliff_drift_status{variant="prod",baseline="2"} 1' in prom.read_text()
    assert (out / "drift.html").read_text().startswith("<!doctype html>")
    # CI outputs: the gate's testcases per slice plus the control chart's
    junit = (out / "junit.xml").read_text()
    assert '<testcase classname="evalcliff.evalcliff drift prod" name="code"' in junit
    assert 'name="control_chart"' in junit and 'type="regression"' in junit
    assert "**DRIFTED**" in (out / "summary.md").read_text()


def test_drift_bad_input_is_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "h.db"
    res = runner.invoke(cli, ["drift", "prod", "--baseline", "1", "--db", str(db)])
    assert res.exit_code == 2 and "no history database" in res.output
    (_, p0), *_ = _files(tmp_path, 0.0)
    _add(runner, db, p0)
    for args, msg in ((["nope", "--baseline", "1"], "no runs of variant 'nope'"),
                      (["prod", "--baseline", "previous"], "it needs two"),
                      (["prod", "--baseline", "1"], "itself"),
                      (["prod", "--baseline", "7"], "no run with id 7")):  # fmt: skip
        res = runner.invoke(cli, ["drift", *args, "--db", str(db),
                                  "--out", str(tmp_path / "o")])  # fmt: skip
        assert res.exit_code == 2 and msg in res.output, res.output
    try:
        import mlflow  # noqa: F401
    except ImportError:
        _add(runner, db, p0)
        res = runner.invoke(cli, ["drift", "prod", "--baseline", "1", "--db", str(db),
                                  "--out", str(tmp_path / "o"), "--mlflow"])  # fmt: skip
        assert res.exit_code == 2 and "pip install mlflow" in res.output


def test_mlflow_export_with_a_stand_in(tmp_path: Path, monkeypatch: object) -> None:
    import sys
    import types
    from contextlib import contextmanager
    from typing import Any

    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    logged: dict[str, Any] = {}
    fake = types.ModuleType("mlflow")

    @contextmanager
    def start_run(run_name: str) -> Any:
        logged["run_name"] = run_name
        yield

    fake.start_run = start_run  # type: ignore[attr-defined]
    fake.log_params = lambda p: logged.update(params=p)  # type: ignore[attr-defined]
    fake.log_metrics = lambda m: logged.update(metrics=m)  # type: ignore[attr-defined]
    fake.log_dict = lambda d, name: logged.update(artifact=name)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    runner = CliRunner()
    db = tmp_path / "h.db"
    for _, p in _files(tmp_path, 0.0, weeks=2):
        _add(runner, db, p)
    res = runner.invoke(cli, ["drift", "prod", "--baseline", "previous", "--db", str(db),
                              "--out", str(tmp_path / "o"), "--mlflow"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert logged["run_name"] == "drift-prod-2" and logged["artifact"] == "drift.json"
    assert logged["metrics"]["head.delta"] == 0.0 and logged["params"]["status"] == "stable"
