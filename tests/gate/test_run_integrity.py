"""A run's rows must agree with its header, two runs must share one suite build and each
item's target: otherwise `compare` stops with exit 2, never a verdict on partial data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.compare import compare_artifacts, compare_files
from evalcliff.config.variants import resolve_variant
from evalcliff.drift.simulate import synthetic_artifact, synthetic_manifest
from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy, pair_runs
from evalcliff.gate.integrity import header_mismatches
from evalcliff.results import read_run, write_results, write_run
from evalcliff.runner import run_variant
from evalcliff.schema.run import RunArtifact
from evalcliff.suites.spec import load_suite

SLICES = {"head": 60, "code": 40}
POLICY = Policy(n_resamples=500, margin=0.2)


def _art(seed: int = 0, **kw: object) -> RunArtifact:
    rng = np.random.default_rng(seed)
    correct = {name: rng.random(n) < 0.9 for name, n in SLICES.items()}
    return synthetic_artifact(synthetic_manifest(SLICES), correct, **kw)  # type: ignore[arg-type]


def _with(art: RunArtifact, results: pd.DataFrame | None = None, **header: object) -> RunArtifact:
    assert art.header is not None
    h = art.header.model_copy(update=header) if header else art.header
    rows = art.results if results is None else results.reset_index(drop=True)
    return RunArtifact(path=art.path, header=h, results=rows)


def _save(art: RunArtifact, path: Path) -> Path:
    assert art.header is not None
    return write_run(art.results, path, art.header)


def _policy_file(tmp_path: Path) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text("margin: 0.2\nn_resamples: 500\n")
    return p


def _compare_cli(base: Path, cand: Path, out: Path) -> tuple[int, str]:
    res = CliRunner().invoke(
        cli, ["compare", "--base", str(base), "--cand", str(cand), "--out", str(out)]
    )
    return res.exit_code, res.output


# -- rows against the header ------------------------------------------------------------


def test_runs_missing_the_same_slices_are_refused_not_a_go(tmp_path: Path) -> None:
    # the hostile case: both runs cut to one slice pair perfectly, and gave GO
    base, cand = _art(0), _art(0, variant="cand")
    head = base.results["slice"] == "head"
    b = _save(_with(base, base.results[head]), tmp_path / "b.parquet")
    c = _save(_with(cand, cand.results[head]), tmp_path / "c.parquet")
    code, out = _compare_cli(b, c, tmp_path / "r")
    assert code == 2, out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in out
    assert lines[0].startswith(f"evalcliff: error: {b}: rows do not match the run header")
    assert "the header says 100 items, the file holds 60 rows" in lines[0]
    assert "slice 'code' holds 0 rows, its suite manifest says 40" in lines[0]
    assert not (tmp_path / "r").exists()


def test_dropping_the_failing_rows_is_refused(tmp_path: Path) -> None:
    base, cand = _art(0), _art(1, variant="cand")
    kept = cand.results[cand.results["correct"]]
    assert len(kept) < len(cand.results)
    with pytest.raises(EvalcliffError, match=r"c\.parquet: rows do not match the run header"):
        compare_artifacts(base, _with(cand, kept, path=Path("c.parquet")), POLICY)


def test_header_counts_must_match(tmp_path: Path) -> None:
    art = _art(0)
    assert header_mismatches(art) == []
    assert header_mismatches(_with(art, n_items=5)) == [
        "the header says 5 items, the file holds 100 rows"
    ]
    assert header_mismatches(_with(art, n_errors=3)) == [
        "the header says 3 errored items, 0 rows carry an error"
    ]
    errored = art.results.copy()
    errored.loc[:4, "error"] = "timeout"
    assert header_mismatches(_with(art, errored)) == [
        "the header says 0 errored items, 5 rows carry an error"
    ]
    assert header_mismatches(_with(art, errored, n_errors=5)) == []


def test_slices_must_match_the_manifest() -> None:
    art = _art(0)
    assert art.header is not None
    suite = art.header.suite
    ghost = suite.slices["head"].model_copy(update={"n": 7})
    more = suite.model_copy(update={"slices": {**suite.slices, "ghost": ghost}})
    assert header_mismatches(_with(art, suite=more)) == [
        "slice 'ghost' holds 0 rows, its suite manifest says 7"
    ]
    fewer = suite.model_copy(update={"slices": {"head": suite.slices["head"]}})
    assert header_mismatches(_with(art, suite=fewer)) == [
        "slice 'code' (40 rows) is not in the suite manifest"
    ]


def test_lm_eval_task_slices_have_no_build_time_count() -> None:
    # an `lm_eval_task` slice has no items at build time (manifest n = 0); its rows come
    # from lm-eval at run time: only the run's total counts them
    art = _art(0)
    assert art.header is not None
    suite = art.header.suite
    task = suite.slices["code"].model_copy(update={"kind": "lm_eval", "n": 0})
    lm = _with(art, suite=suite.model_copy(update={"slices": {**suite.slices, "code": task}}))
    assert header_mismatches(lm) == []
    assert header_mismatches(_with(lm, n_items=90)) == [
        "the header says 90 items, the file holds 100 rows"
    ]


def test_headerless_rows_have_nothing_to_check(tmp_path: Path) -> None:
    base = _art(0)
    rows = write_results(base.results.iloc[:50], tmp_path / "c.jsonl")
    assert header_mismatches(read_run(rows)) == []


def test_real_runs_full_limited_and_lm_eval_slices_pass_the_check(
    mini_suite: Path, mock_config: Path, tmp_path: Path
) -> None:
    spec = load_suite(str(mini_suite))
    paths = {}
    for name, limit in (("good", None), ("bad", None), ("good", 1), ("bad", 1)):
        out = tmp_path / f"{name}-{limit}.parquet"
        run_variant(name, resolve_variant(name, mock_config), spec, out, limit=limit)
        assert header_mismatches(read_run(out)) == []
        paths[name, limit] = out
    for limit in (None, 1):
        _, code, summary = compare_files(
            paths["good", limit], paths["bad", limit], None, tmp_path / f"r{limit}"
        )
        assert code in (0, 1, 3) and json.loads(summary.read_text())["verdict"]
    # an lm-eval task slice (its manifest n is 0, its rows come from lm-eval)
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps({"question": f"q{k}", "answer": "a"}) + "\n"
                            for k in range(4)))  # fmt: skip
    (tasks / "toy.yaml").write_text(
        f"task: toy\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\n"
        'test_split: test\noutput_type: generate_until\ndoc_to_text: "{{question}}"\n'
        'doc_to_target: "{{answer}}"\ngeneration_kwargs: {until: ["\\n"], max_gen_toks: 4}\n'
        "metric_list:\n  - metric: exact_match\n"
    )
    suite = tmp_path / "lm.yaml"
    suite.write_text(
        "name: byo\nslices:\n  echo:\n    lm_eval_task: toy\n    lm_eval_include: tasks\n"
        "    scorer: exact_match\n    weight: 1\n"
    )
    out = tmp_path / "lm.parquet"
    run_variant("good", resolve_variant("good", mock_config), load_suite(str(suite)), out)
    run = read_run(out)
    assert run.header is not None and run.header.suite.slices["echo"].n == 0
    assert len(run.results) == 4 and header_mismatches(run) == []


# -- one suite build --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("name", "tail", "suite name 'synthetic' vs 'tail'"),
        ("seed", 5, "suite seed 0 vs 5"),
        ("content_hash", "f" * 16, f"suite content hash '{'0' * 16}' vs '{'f' * 16}'"),
    ],
)
def test_headers_of_different_builds_are_refused(
    tmp_path: Path, field: str, value: object, said: str
) -> None:
    base, cand = _art(0), _art(0, variant="cand")
    assert cand.header is not None
    suite = cand.header.suite.model_copy(update={field: value})
    b = _save(base, tmp_path / "b.parquet")
    c = _save(_with(cand, suite=suite), tmp_path / "c.parquet")
    code, out = _compare_cli(b, c, tmp_path / "r")
    assert code == 2, out
    assert f"{b} and {c} cannot be paired: {said}; run both variants" in out


def test_a_different_run_seed_is_refused() -> None:
    base, cand = _art(0), _art(0, variant="cand")
    with pytest.raises(EvalcliffError, match="cannot be paired: run seed 0 vs 7"):
        compare_artifacts(base, _with(cand, seed=7), POLICY)


def test_one_headerless_side_is_a_visible_warning_not_a_refusal(tmp_path: Path) -> None:
    base = _art(0)
    b = _save(base, tmp_path / "b.parquet")
    c = write_results(_art(0, variant="cand").results, tmp_path / "c.jsonl")
    text, code, summary_path = compare_files(b, c, _policy_file(tmp_path), tmp_path / "r")
    summary = json.loads(summary_path.read_text())
    assert code == 0 and summary["verdict"] == "go"  # the documented JSONL input still decides
    note = next(w for w in summary["warnings"] if w.startswith("UNCHECKED BUILD"))
    assert "the cand run (c.jsonl) has no run header" in note
    assert f"  ! {note}" in text.splitlines()
    # both headerless (or both headed): nothing one-sided to warn about
    both = compare_files(c, c, _policy_file(tmp_path), tmp_path / "r2")[2]
    assert not any(w.startswith("UNCHECKED") for w in json.loads(both.read_text())["warnings"])


# -- targets ----------------------------------------------------------------------------


def test_a_different_target_for_one_item_is_refused(tmp_path: Path) -> None:
    base = _art(0)
    cand = base.results.copy()
    wrong = cand.index[~cand["correct"]][:2]
    cand.loc[wrong, "target"] = "0"  # the cand's failing items "expected" what it said
    with pytest.raises(EvalcliffError, match=r"has target '1' in base but '0' in cand \(2 item"):
        pair_runs(base.results, cand)
    b = write_results(base.results, tmp_path / "b.jsonl")
    c = write_results(cand, tmp_path / "c.jsonl")
    code, out = _compare_cli(b, c, tmp_path / "r")
    assert code == 2 and "not scored against the same answers" in out, out


def test_a_missing_target_is_not_a_difference(tmp_path: Path) -> None:
    base = _art(0).results
    no_column = base.drop(columns=["target"])
    some_null = base.copy()
    some_null.loc[:9, "target"] = None
    assert len(pair_runs(base, no_column)) == len(pair_runs(base, some_null)) == 100
    # a JSONL file without a target column is read with nulls: still pairs
    rows = write_results(no_column, tmp_path / "c.jsonl")
    assert len(pair_runs(base, read_run(rows).results)) == 100
