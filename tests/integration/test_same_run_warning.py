"""Two runs of one configuration (same run key) are compared with an A/A warning."""

from __future__ import annotations

import shutil
from pathlib import Path

from evalcliff.compare import compare_files
from evalcliff.config.variants import resolve_variant
from evalcliff.runner import run_variant
from evalcliff.suites.spec import load_suite
from tests.conftest import MINI_SUITE


def _suite(tmp_path: Path) -> Path:
    p = tmp_path / "mini.yaml"
    p.write_text(MINI_SUITE.split("  code:")[0])  # generated slices only: no sandbox needed
    return p


def test_the_same_run_given_twice_is_flagged_as_a_a(tmp_path: Path, mock_config: Path) -> None:
    spec = load_suite(str(_suite(tmp_path)))
    run = run_variant("good", resolve_variant("good", mock_config), spec, tmp_path / "g.parquet")
    copy = tmp_path / "copy of g.v2.parquet"
    shutil.copy(run.results_path, copy)
    text, _, summary_path = compare_files(run.results_path, copy, None, tmp_path / "aa")
    assert "! A/A COMPARISON" in text
    assert "A/A COMPARISON" in summary_path.read_text()
    assert "A/A COMPARISON" in (tmp_path / "aa" / "summary.md").read_text()


def test_two_configurations_get_no_a_a_warning(tmp_path: Path, mock_config: Path) -> None:
    spec = load_suite(str(_suite(tmp_path)))
    good = run_variant("good", resolve_variant("good", mock_config), spec, tmp_path / "g.parquet")
    bad = run_variant("bad", resolve_variant("bad", mock_config), spec, tmp_path / "b.parquet")
    _, _, summary_path = compare_files(good.results_path, bad.results_path, None, tmp_path / "gb")
    assert "A/A COMPARISON" not in summary_path.read_text()
