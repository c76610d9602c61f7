"""compare on two lm-eval samples outputs: one metric and filter per task for both sides."""

from __future__ import annotations

import json
from pathlib import Path

from tests.results.test_lmeval_samples import (
    DATE,
    _compare,
    _rewrite,
    _set_metric_list,
    _strict_worse_flexible_first,
    write_lmeval_output,
)


def test_compare_refuses_filters_listed_differently(tmp_path: Path) -> None:
    f = f"samples_gsm8k_{DATE}.jsonl"
    base = write_lmeval_output(tmp_path / "o", "fp16", {}, results_json=False) / f
    cand = write_lmeval_output(tmp_path / "o2", "q4", {}, results_json=False) / f
    _rewrite(cand, _strict_worse_flexible_first)
    res = _compare(base, cand, tmp_path / "r")
    assert res.exit_code == 2, res.output
    assert "one filter" in res.stderr and "Traceback" not in res.stderr
    res = _compare(base, cand, tmp_path / "r2", "--metric", "exact_match,strict-match")
    assert res.exit_code == 1, res.output
    s = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert s["base_label"].endswith("[exact_match,strict-match]")
    assert s["cand_label"].endswith("[exact_match,strict-match]")


def test_compare_one_results_json_decides_both(tmp_path: Path) -> None:
    base = write_lmeval_output(tmp_path / "o", "fp16", {})
    _set_metric_list(base, "arc_easy", ["acc_norm", "acc"])
    wrong = {"arc_easy": set(range(50))}
    cand = write_lmeval_output(tmp_path / "o2", "q4", wrong, results_json=False)
    res = _compare(base, cand, tmp_path / "r")
    assert res.exit_code in (0, 3), res.output  # acc_norm on both: no regression
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert "arc_easy: acc_norm,none" in s["cand_label"], s["cand_label"]
    res = _compare(base, cand, tmp_path / "r2", "--metric", "acc")
    assert res.exit_code == 2 and "gsm8k" in res.stderr  # gsm8k logs no acc
