"""The validation pipeline end to end on a handful of tiny cells (seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalcliff.dev.validation import Scenario, run_scenario
from evalcliff.dev.validation.analysis import summarize
from evalcliff.dev.validation.grid import (
    Settings,
    band_verdict,
    coverage_scenarios,
    margin_scenarios,
    power_scenarios,
)
from evalcliff.dev.validation.render import write_all


def test_grid_spans_what_the_issue_asks() -> None:
    cells = coverage_scenarios()
    assert len(cells) * Settings().datasets >= 1000
    assert {c.n for c in cells} >= {30, 5000}
    assert min(c.base_acc for c in cells) == 0.05 and max(c.base_acc for c in cells) == 0.95
    assert min(c.flip_rate for c in cells) == 0.01 and max(c.flip_rate for c in cells) == 0.3
    assert any(c.cluster_size > 1 and c.n_clusters >= 30 for c in cells)
    assert all(c.feasible() for c in cells + margin_scenarios(0.02) + power_scenarios())
    drops = {round(-s.delta, 2) for s in power_scenarios()}
    assert drops == {k / 100 for k in range(1, 11)}


def test_infeasible_cells_are_refused() -> None:
    assert not Scenario(100, 1, 0.05, 0.3, 0.0).feasible()  # 15% regressions > 5% correct
    with pytest.raises(ValueError):
        run_scenario(Scenario(100, 1, 0.05, 0.3, 0.0), 2, 100, 0.95, 0)


def test_band_verdict_accounts_for_monte_carlo_error() -> None:
    assert band_verdict(950, 1000) == "in"
    assert band_verdict(28, 30) == "mc"  # 93.3%, but 30 datasets cannot tell
    assert band_verdict(800, 1000) == "out"


def test_summary_and_files(tmp_path: Path) -> None:
    st = Settings(datasets=20, resamples=200)
    cov = [
        run_scenario(sc, st.datasets, st.resamples, st.confidence, st.seed)
        for sc in (Scenario(200, 1, 0.5, 0.1, 0.0), Scenario(300, 10, 0.5, 0.1, -0.05))
    ]
    margin = [run_scenario(Scenario(200, 1, 0.5, 0.1, -0.02), 20, 200, 0.95, 0)]
    power = [run_scenario(Scenario(200, m, 0.7, 0.15, -0.05), 20, 200, 0.95, 0) for m in (1, 10)]
    checks = [{"label": "x", "items": 200, "p_go": 0.5, "power": 0.8}]
    s = summarize(cov, margin, power, checks, st)
    assert s["required"]["cells"] == 2
    assert {r["informative"] for r in s["informative"]["delta_zero"]}
    paths = write_all(s, tmp_path)
    assert [p.name for p in paths] == [
        "stats-validation.md",
        "stats-validation.json",
        "stats-validation-power.html",
    ]
    md = paths[0].read_text()
    assert "## Headline" in md and "## Power" in md and "## All cells" in md
    assert json.loads(paths[1].read_text())["settings"]["datasets"] == 20
    assert "plotly" in paths[2].read_text()[:5000].lower()
