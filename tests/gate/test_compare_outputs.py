"""`compare`'s report directory never holds an old verdict beside a new one: the previous
files go first, report.html is written first and summary.json last, and a write that
fails is one line naming the file (exit 2)."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import evalcliff.compare as compare_mod
import evalcliff.report as report_mod
from evalcliff.cli.main import cli
from evalcliff.compare import REPORT_FILES, compare_files
from evalcliff.drift.simulate import synthetic_artifact, synthetic_manifest
from evalcliff.errors import EvalcliffError
from evalcliff.results import write_run

SLICES = {"head": 60}


def _runs(tmp_path: Path, drop: float) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    base = rng.random(60) < 0.9
    cand = base & (rng.random(60) >= drop)
    paths = []
    for name, hits in (("base", base), ("cand", cand)):
        art = synthetic_artifact(synthetic_manifest(SLICES), {"head": hits}, variant=name)
        assert art.header is not None
        paths.append(write_run(art.results, tmp_path / f"{name}-{drop}.parquet", art.header))
    return paths[0], paths[1]


def _full_disk(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_report_leaves_no_old_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r"
    _, code, _ = compare_files(*_runs(tmp_path, 0.0), None, out)  # an earlier GO
    assert code == 0 and all((out / name).is_file() for name in REPORT_FILES)
    monkeypatch.setattr(report_mod, "render_report", _full_disk)
    with pytest.raises(EvalcliffError) as caught:
        compare_files(*_runs(tmp_path, 0.5), None, out)
    message = str(caught.value)
    assert message.startswith(f"{out / 'report.html'}: cannot write it: No space left on device")
    assert "\n" not in message
    assert not [p.name for p in out.iterdir() if not p.name.startswith(".")]


def test_summary_json_is_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r"
    compare_files(*_runs(tmp_path, 0.0), None, out)
    written: list[str] = []
    real = compare_mod.write_text_atomic

    def record(path: Path, text: str) -> None:
        written.append(path.name)
        if path.name == "summary.json":  # the disk fills up at the last file
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, text)

    monkeypatch.setattr(compare_mod, "write_text_atomic", record)
    with pytest.raises(EvalcliffError, match="summary.json: cannot write it"):
        compare_files(*_runs(tmp_path, 0.5), None, out)
    assert written == ["junit.xml", "summary.md", "summary.json"]
    assert not (out / "summary.json").exists()  # no stale GO for CI to read
    assert "report.html" in [p.name for p in out.iterdir()]  # the new one, written first


def test_a_full_disk_is_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, cand = _runs(tmp_path, 0.0)
    out = tmp_path / "r"
    args = ["compare", "--base", str(base), "--cand", str(cand), "--out", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["verdict"] == "go"
    monkeypatch.setattr(report_mod, "render_report", _full_disk)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    assert lines[0].startswith("evalcliff: error: ") and "report.html: cannot write it" in lines[0]
    assert not (out / "summary.json").exists() and not (out / "summary.md").exists()


def test_an_out_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    base, cand = _runs(tmp_path, 0.0)
    blocker = tmp_path / "r"
    blocker.write_text("not a directory")
    with pytest.raises(EvalcliffError, match=rf"^{blocker}: cannot create it: "):
        compare_files(base, cand, None, blocker)
