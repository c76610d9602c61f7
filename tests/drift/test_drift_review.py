"""Drift reviews on simulated weekly histories (synthetic results tables, no model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from evalcliff.drift import drift_review, prometheus_text, render_html
from evalcliff.drift.simulate import synthetic_artifact, synthetic_manifest, weekly_history
from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy
from evalcliff.history import HistoryStore
from evalcliff.schema.run import ServerInfo

SLICES = {"head": 400, "long_context": 400, "code": 400}
POLICY = Policy(n_resamples=1000)
QUIET = {"flaky": 0.01, "stable_flip": 0.002}  # a nearly deterministic served model


def test_step_regression_at_week_9_drifts_from_week_9_naming_only_that_slice(
    tmp_path: Path,
) -> None:
    history = weekly_history(
        SLICES, lambda s, w: 0.08 if s == "long_context" and w >= 9 else 0.0,
        weeks=12, seed=3, margin=0.03, **QUIET,
    )  # fmt: skip
    statuses: dict[int, str] = {}
    with HistoryStore(tmp_path / "h.db") as store:
        for week, (at, art) in enumerate(history, start=1):
            run_id = store.add(art, at=at)
            if week == 1:
                store.pin(run_id)
                continue
            report = drift_review(store, "prod", "prod", POLICY)
            statuses[week] = report.status
            failing = [s.slice for s in report.slices if s.status == "fail" or s.alarm]
            if week >= 9:
                assert failing == ["long_context"], (week, report.slices)
            else:
                assert failing == [], (week, report.slices)
    assert all(statuses[w] == "stable" for w in range(2, 9)), statuses
    assert all(statuses[w] == "drifted" for w in range(9, 13)), statuses


def test_slow_decline_is_caught_by_the_chart_before_the_gate(tmp_path: Path) -> None:
    # 0.5 pt/week from week 2 on, 400 noisy items per slice (5% flaky items, 1% flips:
    # the calibration's item model), margin 5 pts as on the tail suite's slices
    history = weekly_history(
        {"long_context": 400}, lambda s, w: 0.005 * (w - 1), weeks=14, seed=5, margin=0.05
    )
    first_alarm = first_fail = None
    with HistoryStore(tmp_path / "h.db") as store:
        for week, (at, art) in enumerate(history, start=1):
            run_id = store.add(art, at=at)
            if week == 1:
                store.pin(run_id)
                continue
            report = drift_review(store, "prod", "prod", POLICY)
            s = report.slices[0]
            if s.alarm and first_alarm is None:
                first_alarm = week
            if s.status == "fail" and first_fail is None:
                first_fail = week
    print(f"slow decline: first alarm week {first_alarm}, first gate fail week {first_fail}")
    # README states (simulation): alarm 7 weeks after the decline's first week (median), 10 (p90)
    assert first_alarm is not None and first_alarm - 2 <= 10, first_alarm  # onset: week 2
    assert first_fail is None or first_fail > first_alarm


def _run(week: int, fingerprint: str, seed: int = 0, **kw: object) -> tuple[datetime, object]:
    rng = np.random.default_rng(seed)
    correct = {name: rng.random(n) < 0.8 for name, n in {"head": 50}.items()}
    at = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(weeks=week - 1)
    return at, synthetic_artifact(synthetic_manifest({"head": 50}), correct, at=at,
                                  fingerprint=fingerprint, **kw)  # type: ignore[arg-type]


def test_changes_list_fingerprint_engine_prompting_and_tags(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        at, art = _run(1, "fp16", settings={"prompting": "completion", "temperature": "0"})
        store.add(art, at=at, tags={"engine": "vllm-0.9.0"})  # type: ignore[arg-type]
        at, art = _run(2, "q4", settings={"prompting": "chat", "temperature": "0.2"})
        assert art.header is not None  # type: ignore[attr-defined]
        art.header.model.server = ServerInfo(models=["m"], headers={"server": "vllm/0.10"})  # type: ignore[attr-defined]
        store.add(art, at=at, tags={"engine": "vllm-0.10.0"})  # type: ignore[arg-type]
        report = drift_review(store, "prod", "previous", POLICY)
    kinds = {(c.kind, c.field) for c in report.changes}
    assert ("fingerprint", "model.weights_fingerprint") in kinds
    assert ("prompting", "settings.prompting") in kinds
    assert ("decoding", "settings.temperature") in kinds
    assert ("engine", "model.server.headers.server") in kinds
    assert ("tags", "tags.engine") in kinds
    assert report.trend[-1].changed == sorted({c.kind for c in report.changes} - {"model"})


def test_differing_suite_builds_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    correct = {"head": rng.random(50) < 0.8}
    a = synthetic_artifact(synthetic_manifest({"head": 50}), correct,
                           at=datetime(2026, 1, 5, tzinfo=UTC))  # fmt: skip
    other = synthetic_manifest({"head": 50})
    other = other.model_copy(update={"slices": {"head": other.slices["head"].model_copy(
        update={"scorer": "contains"})}})  # fmt: skip
    b = synthetic_artifact(other, correct, at=datetime(2026, 1, 12, tzinfo=UTC))
    with HistoryStore(tmp_path / "h.db") as store:
        store.add(a)
        store.add(b)
        with pytest.raises(EvalcliffError, match="cannot be paired: slice 'head': scorer"):
            drift_review(store, "prod", "previous", POLICY)


def test_stale_baseline_and_rolling_baseline_anchor(tmp_path: Path) -> None:
    history = weekly_history({"head": 100}, lambda s, w: 0.0, weeks=3, seed=1, **QUIET)
    with HistoryStore(tmp_path / "h.db") as store:
        ids = [store.add(art, at=at) for at, art in history]
        report = drift_review(store, "prod", "previous", POLICY, max_baseline_age_days=5)
        assert report.baseline.id == ids[1] and report.stale
        assert report.trend_anchor.id == ids[0]  # a rolling baseline would absorb slow drift
        assert [p.run for p in report.trend] == ids[1:]
        fresh = drift_review(store, "prod", str(ids[1]), POLICY)
        assert not fresh.stale and fresh.trend_anchor.id == ids[1]
        with pytest.raises(EvalcliffError, match="latest run of 'prod' itself"):
            drift_review(store, "prod", "prod", POLICY)


def test_only_shared_items_pair(tmp_path: Path) -> None:
    # headerless runs (JSONL results) have nothing to check their rows against: the items
    # only one holds are left out, with a warning (a run with a header must hold them all:
    # tests/drift/test_drift_integrity.py)
    history = weekly_history({"head": 100}, lambda s, w: 0.0, weeks=2, seed=1, **QUIET)
    (at1, a1), (at2, a2) = history
    a1 = type(a1)(path=a1.path, header=None, results=a1.results)
    a2 = type(a2)(path=a2.path, header=None, results=a2.results.iloc[:90])
    with HistoryStore(tmp_path / "h.db") as store:
        store.add(a1, at=at1, variant="prod")
        store.add(a2, at=at2, variant="prod")
        report = drift_review(store, "prod", "previous", POLICY)
    assert report.slices[0].n == 90
    assert any("10 item row(s)" in w for w in report.warnings)


def test_html_and_prometheus_escape_untrusted_names(tmp_path: Path) -> None:
    name = '<script>alert("x")</script>'
    history = weekly_history({"head": 50}, lambda s, w: 0.0, weeks=2, seed=1, variant=name,
                             **QUIET)  # fmt: skip
    with HistoryStore(tmp_path / "h.db") as store:
        for at, art in history:
            store.add(art, at=at, tags={"note": "<b>&"})
        report = drift_review(store, name, "previous", POLICY)
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<svg" in page and "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    prom = prometheus_text(report)
    assert 'variant="<script>alert(\\"x\\")</script>"' in prom
    for line in prom.splitlines():
        assert line.startswith("#") or line.startswith("evalcliff_drift_")
