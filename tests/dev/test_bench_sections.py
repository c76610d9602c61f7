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


def test_cpu_outside_generate_takes_the_engine_out_pair_by_pair() -> None:
    from evalcliff.dev.bench.harness import _outside_generate, _outside_row

    # Run 2 of each side ran on a slower machine: its generate (same work on both sides)
    # took longer; what evalcliff spends outside generate is 3 s more every time.
    r = _outside_generate(
        ours_cpu=[43.0, 48.0, 44.0],
        bare_cpu=[40.0, 45.0, 41.5],
        ours_gen=[34.0, 39.0, 34.5],
        bare_gen=[34.0, 39.0, 35.0],
    )
    assert r["extra_cpu_outside_generate_s"] == pytest.approx([3.0, 3.0, 3.0])
    assert r["overhead_ratio_cpu_outside_generate"] == pytest.approx(1 + 3.0 / 40.0)
    assert r["pair_ratios_cpu_outside_generate"] == pytest.approx([1.075] * 3)
    row = _outside_row({**r, "overhead_goal": 1.10, "bare_loop_cpu_s": [40.0, 45.0, 41.5]})
    assert len(row) == 1 and "+3.00 s" in row[0] and "1.075x" in row[0] and "within" in row[0]
    # a run whose timing is missing (nan) is left out, not counted as zero
    nan = float("nan")
    r = _outside_generate([43.0, 50.0], [40.0, 40.0], [34.0, nan], [34.0, 34.0])
    assert r["overhead_ratio_cpu_outside_generate"] == pytest.approx(1.075)
    # no timing at all: no row
    assert _outside_row(_outside_generate([1.0], [1.0], [nan], [nan])) == []
    # the wall clock: the same arithmetic, over the bare loop's fastest wall time
    r = _outside_generate([41.0, 47.0], [39.0, 45.0], [33.0, 39.0], [33.0, 39.0], "wall")
    assert r["extra_wall_outside_generate_s"] == pytest.approx([2.0, 2.0])
    assert r["overhead_ratio_wall_outside_generate"] == pytest.approx(1 + 2.0 / 39.0)
    row = _outside_row({**r, "overhead_goal": 1.10, "bare_loop_s": [39.0, 45.0]}, "wall")
    assert len(row) == 1 and "wall outside" in row[0] and "+2.00 s" in row[0]
    assert "1.051x" in row[0] and "39.00" in row[0]


def test_gentime_writes_its_timing_when_evalcliff_exits(tmp_path: Path) -> None:
    import subprocess
    import sys

    from evalcliff.dev.bench.harness import GENTIME

    out = tmp_path / "gen.json"
    done = subprocess.run(
        [sys.executable, str(GENTIME), str(out), "evalcliff", "suites", "show", "smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "774 items" in done.stdout
    assert json.loads(out.read_text()) == {
        "generate_cpu_s": 0.0,
        "generate_wall_s": 0.0,
        "generate_calls": 0,
    }
    bad = subprocess.run(
        [sys.executable, str(GENTIME), str(out), "nothing"], capture_output=True, check=False
    )
    assert bad.returncode != 0
