"""The benchmark's sections (no timing is asserted: only what the numbers mean)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalcliff.dev.bench import __main__ as bench
from evalcliff.dev.bench.decision import decision, unpaired_items


def test_paired_needs_fewer_items_by_the_variance_ratio() -> None:
    r = decision(quick=True)
    for row in r["rows"]:
        p, f = row["base_accuracy"], row["flip_rate"]
        assert row["ratio"] == pytest.approx(2 * p * (1 - p) / f, rel=0.02)
        assert row["paired_items"] < row["unpaired_items_per_variant"]
        assert row["paired_simulated_power"] == pytest.approx(0.8, abs=0.08)


def test_unpaired_formula() -> None:
    # ((1.96 + 0.8416) * sqrt(2 * 0.25) / 0.05)^2 = 1569.7
    assert unpaired_items(0.5, 0.05) == 1570


def test_main_writes_json_and_markdown(tmp_path: Path) -> None:
    assert bench.main(["--only", "decision", "--out", str(tmp_path), "--work", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["mode"] == "quick" and set(data["sections"]) == {"decision"}
    assert data["machine"]["cpus"] >= 1
    md = (tmp_path / "bench.md").read_text()
    assert "paired vs unpaired" in md


def test_every_section_is_registered_lazily() -> None:
    assert {"harness", "bootstrap", "decision", "render", "vllm"} <= set(bench.SECTIONS)
    assert all(m.startswith("evalcliff.dev.bench.") for m in bench.SECTIONS.values())
