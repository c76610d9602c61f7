"""A drift review's output directory never holds an old status beside a new one: the
previous files go first, drift.json is written last, a failed write is one line naming it."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import evalcliff.drift.render as render_mod
from evalcliff.drift import drift_review, write_outputs
from evalcliff.drift.model import DriftReport
from evalcliff.drift.simulate import weekly_history
from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy
from evalcliff.history import HistoryStore

FILES = {"drift.json", "drift.html", "drift.prom", "junit.xml", "summary.md"}


def _report(tmp_path: Path) -> DriftReport:
    history = weekly_history({"head": 100}, lambda s, w: 0.0, weeks=2, seed=1,
                             flaky=0.0, stable_flip=0.0)  # fmt: skip
    with HistoryStore(tmp_path / "h.db") as store:
        for at, art in history:
            store.add(art, at=at)
        return drift_review(store, "prod", "previous", Policy(n_resamples=200))


def test_a_full_disk_leaves_no_old_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report, out = _report(tmp_path), tmp_path / "d"
    write_outputs(report, out)
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == FILES
    written: list[str] = []
    real = render_mod.write_atomic

    def fill_up(path: Path, text: str) -> None:
        written.append(path.name)
        if path.name == "drift.prom":
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, text)

    monkeypatch.setattr(render_mod, "write_atomic", fill_up)
    with pytest.raises(EvalcliffError) as caught:
        write_outputs(report, out)
    said = str(caught.value)
    assert said.startswith(f"{out / 'drift.prom'}: cannot write it: No space left on device")
    assert written == ["drift.html", "junit.xml", "summary.md", "drift.prom"]
    left = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert left == {"drift.html", "junit.xml", "summary.md"}  # the new ones, no drift.json
