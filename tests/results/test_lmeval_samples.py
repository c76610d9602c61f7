"""lm-eval --log_samples output read as runs and compared (fixtures in lm-eval 0.4.x format)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.errors import EvalcliffError
from evalcliff.results.lmeval_samples import (
    is_lmeval_samples,
    read_lmeval_pair,
    read_lmeval_samples,
)

DATE = "2026-01-02T10-11-12.123456"


def _h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sample(doc_id: int, prompt: str, resp: str, target: str, flt: str, **metrics: Any) -> dict:
    """One line as lm-eval's EvaluationTracker.save_results_samples writes it."""
    return {
        "doc_id": doc_id,
        "doc": {"question": prompt, "answer": target},
        "target": target,
        "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": {"until": ["\n"]}}},
        "resps": [[resp]],
        "filtered_resps": [resp],
        "filter": flt,
        "metrics": list(metrics),
        "doc_hash": _h(prompt + target),
        "prompt_hash": _h(prompt),
        "target_hash": _h(target),
        **metrics,
    }


def write_lmeval_output(
    root: Path,
    model: str,
    wrong: dict[str, set[int]],
    n: int = 200,
    prompt_suffix: str = "",
    results_json: bool = True,
) -> Path:
    """OUTPUT_PATH/MODEL/results_DATE.json + samples_TASK_DATE.jsonl for two tasks:
    gsm8k (exact_match, two filters) and arc_easy (acc and acc_norm, loglikelihood)."""
    d = root / model
    d.mkdir(parents=True)
    lines = []
    for i in range(n):
        prompt = f"Q{i}: 2+{i}={prompt_suffix}"
        ok = i not in wrong.get("gsm8k", set())
        ans = str(2 + i) if ok else "<script>alert(1)</script>"
        for flt in ("strict-match", "flexible-extract"):
            lines.append(_sample(i, prompt, ans, str(2 + i), flt, exact_match=float(ok)))
    (d / f"samples_gsm8k_{DATE}.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    arc = []
    for i in range(n):
        ok = i not in wrong.get("arc_easy", set())
        s = _sample(i, f"Which? {i}", "", "A", "none", acc=1.0 if ok else 0.0, acc_norm=1.0)
        s["filtered_resps"] = [[-0.5, ok], [-2.0, False]]
        arc.append(s)
    (d / f"samples_arc_easy_{DATE}.jsonl").write_text("\n".join(json.dumps(x) for x in arc))
    if results_json:
        results = {
            "results": {"gsm8k": {"exact_match,strict-match": 0.5}, "arc_easy": {"acc,none": 0.5}},
            "configs": {
                "gsm8k": {"metric_list": [{"metric": "exact_match", "higher_is_better": True}]},
                "arc_easy": {
                    "metric_list": [
                        {"metric": "acc", "higher_is_better": True},
                        {"metric": "acc_norm", "higher_is_better": True},
                    ]
                },
            },
            "higher_is_better": {
                "gsm8k": {"exact_match": True},
                "arc_easy": {"acc": True, "acc_norm": True},
            },
            "model_name": model,
        }
        (d / f"results_{DATE}.json").write_text(json.dumps(results))
    return d


def test_directory_reads_one_slice_per_task(tmp_path: Path) -> None:
    d = write_lmeval_output(tmp_path, "m", {"gsm8k": {1, 2}, "arc_easy": {3}})
    assert is_lmeval_samples(d) and is_lmeval_samples(tmp_path)
    run = read_lmeval_samples(d)
    df = run.results
    assert run.header is None
    assert sorted(df["slice"].unique()) == ["arc_easy", "gsm8k"]
    assert len(df) == 400 and df["item_id"].is_unique  # one filter per task
    g = df[df["slice"] == "gsm8k"].set_index("item_id")
    assert g.loc["gsm8k/1", "score"] == 0.0 and not g.loc["gsm8k/1", "correct"]
    assert g.loc["gsm8k/0", "output"] == "2" and g.loc["gsm8k/0", "target"] == "2"
    a = df[df["slice"] == "arc_easy"].set_index("item_id")
    assert a.loc["arc_easy/3", "score"] == 0.0  # acc (metric_list's first), not acc_norm
    assert a.loc["arc_easy/0", "output"].startswith("[[-0.5, true]")
    # the --output_path (one model directory inside) reads the same
    assert read_lmeval_samples(tmp_path).results.equals(df)


def test_metric_override_and_filter(tmp_path: Path) -> None:
    d = write_lmeval_output(tmp_path, "m", {"arc_easy": {3}})
    df = read_lmeval_samples(d / f"samples_arc_easy_{DATE}.jsonl", "acc_norm").results
    assert df["score"].eq(1.0).all() and set(df["slice"]) == {"arc_easy"}
    gsm = read_lmeval_samples(d / f"samples_gsm8k_{DATE}.jsonl", "exact_match,flexible-extract")
    assert len(gsm.results) == 200
    with pytest.raises(EvalcliffError, match="no filter 'nope'"):
        read_lmeval_samples(d / f"samples_gsm8k_{DATE}.jsonl", "exact_match,nope")
    with pytest.raises(EvalcliffError, match="no per-sample metric 'bleu'"):
        read_lmeval_samples(d / f"samples_gsm8k_{DATE}.jsonl", "bleu")


def test_without_results_json_the_first_logged_metric(tmp_path: Path) -> None:
    d = write_lmeval_output(tmp_path, "m", {"arc_easy": {3}}, results_json=False)
    a = read_lmeval_samples(d).results.set_index("item_id")
    assert a.loc["arc_easy/3", "score"] == 0.0


def test_newest_file_per_task(tmp_path: Path) -> None:
    d = write_lmeval_output(tmp_path, "m", {})
    old = d / "samples_gsm8k_2020-01-01T00-00-00.000001.jsonl"
    old.write_text("not even json\n")
    assert len(read_lmeval_samples(d).results) == 400  # the 2020 file is ignored


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda s: {**s, "exact_match": 7.0}, r"not a number in \[0, 1\]"),
        (lambda s: {k: v for k, v in s.items() if k != "prompt_hash"}, "lacks"),
        (lambda s: {**s, "exact_match": None}, r"not a number in \[0, 1\]"),
    ],
)
def test_bad_samples_are_one_line_errors(tmp_path: Path, mutate: Any, match: str) -> None:
    d = write_lmeval_output(tmp_path, "m", {})
    f = d / f"samples_gsm8k_{DATE}.jsonl"
    lines = [json.loads(x) for x in f.read_text().splitlines()]
    lines[0] = mutate(lines[0])
    f.write_text("\n".join(json.dumps(x) for x in lines))
    with pytest.raises(EvalcliffError, match=match):
        read_lmeval_samples(f)


def test_lower_is_better_metric_refused(tmp_path: Path) -> None:
    d = write_lmeval_output(tmp_path, "m", {})
    r = d / f"results_{DATE}.json"
    data = json.loads(r.read_text())
    data["higher_is_better"]["gsm8k"]["exact_match"] = False
    r.write_text(json.dumps(data))
    with pytest.raises(EvalcliffError, match="lower-is-better"):
        read_lmeval_samples(d)


def test_two_models_in_one_output_path_refused(tmp_path: Path) -> None:
    write_lmeval_output(tmp_path, "a", {})
    write_lmeval_output(tmp_path, "b", {})
    with pytest.raises(EvalcliffError, match="several models"):
        read_lmeval_samples(tmp_path)


def _compare(base: Path, cand: Path, out: Path, *extra: str) -> Any:
    args = ["compare", "--base", str(base), "--cand", str(cand), "--out", str(out), *extra]
    return CliRunner().invoke(cli, args)


def test_compare_two_lmeval_runs(tmp_path: Path) -> None:
    base = write_lmeval_output(tmp_path / "o", "fp16", {})
    cand = write_lmeval_output(tmp_path / "o2", "q4", {"gsm8k": set(range(0, 200, 4))})
    res = _compare(base, cand, tmp_path / "r")
    assert res.exit_code == 1, res.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    by = {s["slice"]: s for s in summary["slices"]}
    assert set(by) == {"gsm8k", "arc_easy"}
    assert by["gsm8k"]["flips_regressed"] == 50 and by["gsm8k"]["status"] == "fail"
    assert by["arc_easy"]["delta"] == 0
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert (tmp_path / "r" / "junit.xml").exists()
    # the same comparison on single samples files, with a metric override
    f = f"samples_arc_easy_{DATE}.jsonl"
    res = _compare(base / f, cand / f, tmp_path / "r2", "--metric", "acc_norm")
    assert res.exit_code in (0, 3), res.output


def test_compare_refuses_different_prompts(tmp_path: Path) -> None:
    base = write_lmeval_output(tmp_path / "o", "fp16", {})
    cand = write_lmeval_output(tmp_path / "o2", "q4", {}, prompt_suffix=" (5-shot)")
    res = _compare(base, cand, tmp_path / "r")
    assert res.exit_code == 2 and "prompt_hash" in res.stderr
    assert "Traceback" not in res.stderr


def test_metric_on_evalcliff_results_is_refused(tmp_path: Path) -> None:
    base = write_lmeval_output(tmp_path / "o", "fp16", {})
    other = tmp_path / "x.jsonl"
    other.write_text("")
    res = _compare(other, base, tmp_path / "r", "--metric", "acc")
    assert res.exit_code == 2 and "--metric applies to lm-eval samples only" in res.stderr


GENUINE = Path(__file__).parent / "data" / "lmeval_dummy"


def test_genuine_lmeval_output(tmp_path: Path) -> None:
    """Written by lm-eval 0.4 itself (simple_evaluate with its dummy model, --log_samples,
    EvaluationTracker), cut to 5 docs: read as one slice, paired with itself."""
    run = read_lmeval_samples(GENUINE)
    df = run.results
    assert list(df["item_id"]) == [f"toyadd/{i}" for i in range(5)]
    assert set(df["output"]) == {"lol"} and list(df["target"]) == ["1", "2", "3", "4", "5"]
    assert df["score"].eq(0.0).all() and df["prompt"].iloc[0] == "What is 0+1?"
    res = _compare(GENUINE, GENUINE / "dummy", tmp_path / "r")
    assert res.exit_code in (0, 3), res.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert [s["slice"] for s in summary["slices"]] == ["toyadd"]


# --- two runs read together: one metric and filter per task for both sides ---


def _rewrite(f: Path, change: Any) -> None:
    """Rewrite a samples file's lines through `change` (list of dicts -> list of dicts)."""
    lines = [json.loads(x) for x in f.read_text().splitlines()]
    f.write_text("\n".join(json.dumps(x) for x in change(lines)))


def _set_metric_list(d: Path, task: str, names: list[str]) -> None:
    r = d / f"results_{DATE}.json"
    data = json.loads(r.read_text())
    data["configs"][task]["metric_list"] = [{"metric": n} for n in names]
    r.write_text(json.dumps(data))


def _strict_worse_flexible_first(lines: list[dict]) -> list[dict]:
    """gsm8k lines where strict-match fails every third doc and flexible-extract is
    logged first (a second lm-eval version, or a reordered filter_list)."""
    for x in lines:
        if x["filter"] == "strict-match" and x["doc_id"] % 3 == 0:
            x["exact_match"] = 0.0
    return sorted(lines, key=lambda x: x["filter"] != "flexible-extract")


def test_pair_scores_both_sides_alike(tmp_path: Path) -> None:
    base = write_lmeval_output(tmp_path / "o", "fp16", {})
    cand = write_lmeval_output(tmp_path / "o2", "q4", {"gsm8k": {1}})
    b, c = read_lmeval_pair(base, cand)
    assert b.results.equals(read_lmeval_samples(base).results)
    assert c.results.equals(read_lmeval_samples(cand).results)
    assert b.choices == c.choices == {"arc_easy": "acc,none", "gsm8k": "exact_match,strict-match"}
    assert c.label == "q4 [arc_easy: acc,none; gsm8k: exact_match,strict-match]"
    f = f"samples_gsm8k_{DATE}.jsonl"
    assert read_lmeval_samples(base / f).label == f"{f} [exact_match,strict-match]"


def test_pair_refuses_files_that_list_filters_differently(tmp_path: Path) -> None:
    """Hostile case: no results_*.json, each file's first filter differs. Read alone, base
    is scored on strict-match and cand on flexible-extract (a GO that hides a regression)."""
    f = f"samples_gsm8k_{DATE}.jsonl"
    base = write_lmeval_output(tmp_path / "o", "fp16", {}, results_json=False) / f
    cand = write_lmeval_output(tmp_path / "o2", "q4", {}, results_json=False) / f
    _rewrite(cand, _strict_worse_flexible_first)
    assert read_lmeval_samples(cand).choices == {"gsm8k": "exact_match,flexible-extract"}
    with pytest.raises(EvalcliffError) as err:
        read_lmeval_pair(base, cand)
    msg = str(err.value)
    assert "\n" not in msg and "one filter" in msg and str(cand) in msg
    assert "--metric METRIC,FILTER" in msg
    assert "exact_match,strict-match, exact_match,flexible-extract" in msg
    with pytest.raises(EvalcliffError, match="one filter"):  # a metric alone picks no filter
        read_lmeval_pair(base, cand, "exact_match")
    b, c = read_lmeval_pair(base, cand, "exact_match,strict-match")
    assert b.choices == c.choices == {"gsm8k": "exact_match,strict-match"}
    assert b.results["score"].mean() == 1.0 and c.results["score"].mean() < 0.7
    assert "[exact_match,strict-match]" in c.label


def test_pair_takes_the_filter_a_results_json_names(tmp_path: Path) -> None:
    """Only base has a results_*.json (its results name exact_match,strict-match): both
    sides are scored on strict-match although cand's file logs flexible-extract first."""
    f = f"samples_gsm8k_{DATE}.jsonl"
    base = write_lmeval_output(tmp_path / "o", "fp16", {}) / f
    cand = write_lmeval_output(tmp_path / "o2", "q4", {}, results_json=False) / f
    _rewrite(cand, _strict_worse_flexible_first)
    for b, c in (read_lmeval_pair(base, cand), reversed(read_lmeval_pair(cand, base))):
        assert b.choices == c.choices == {"gsm8k": "exact_match,strict-match"}
        assert c.results["score"].mean() < 0.7


def test_pair_takes_the_metric_a_results_json_names(tmp_path: Path) -> None:
    """Hostile case: only one side has a results_*.json, naming acc_norm first; the other
    logs acc first. Read alone, one side is scored on acc_norm and the other on acc."""
    f = f"samples_arc_easy_{DATE}.jsonl"
    base = write_lmeval_output(tmp_path / "o", "fp16", {})
    _set_metric_list(base, "arc_easy", ["acc_norm", "acc"])
    wrong = {"arc_easy": set(range(50))}
    cand = write_lmeval_output(tmp_path / "o2", "q4", wrong, results_json=False)
    assert read_lmeval_samples(cand).choices["arc_easy"] == "acc,none"  # read alone
    for b, c in (read_lmeval_pair(base, cand), reversed(read_lmeval_pair(cand, base))):
        assert b.choices["arc_easy"] == c.choices["arc_easy"] == "acc_norm,none"
        for run in (b, c):
            assert run.results.loc[run.results["slice"] == "arc_easy", "score"].eq(1.0).all()
    b, c = read_lmeval_pair(base / f, cand / f, "acc")  # --metric decides for both
    assert b.choices == c.choices == {"arc_easy": "acc,none"}
    assert c.results["score"].sum() == 150


def test_pair_refuses_results_jsons_that_disagree(tmp_path: Path) -> None:
    base = write_lmeval_output(tmp_path / "o", "fp16", {})
    cand = write_lmeval_output(tmp_path / "o2", "q4", {})
    _set_metric_list(base, "arc_easy", ["acc_norm", "acc"])
    with pytest.raises(EvalcliffError, match="task 'arc_easy'.*one metric.*metric_list"):
        read_lmeval_pair(base, cand)
    f = f"samples_arc_easy_{DATE}.jsonl"
    b, c = read_lmeval_pair(base / f, cand / f, "acc_norm")
    assert b.choices == c.choices == {"arc_easy": "acc_norm,none"}


def _drop_acc_norm(lines: list[dict]) -> list[dict]:
    for x in lines:
        x["metrics"].remove("acc_norm")
        del x["acc_norm"]
    return lines


def test_pair_metric_one_side_lacks_is_one_line_error(tmp_path: Path) -> None:
    f = f"samples_arc_easy_{DATE}.jsonl"
    base = write_lmeval_output(tmp_path / "o", "fp16", {})
    cand = write_lmeval_output(tmp_path / "o2", "q4", {})
    _rewrite(cand / f, _drop_acc_norm)
    with pytest.raises(EvalcliffError) as err:
        read_lmeval_pair(base / f, cand / f, "acc_norm")
    msg = str(err.value)
    assert msg.startswith(f"cand {cand / f}: task 'arc_easy' has no per-sample metric")
    assert "\n" not in msg and "'acc_norm'" in msg
    g = f"samples_gsm8k_{DATE}.jsonl"
    _rewrite(base / g, lambda xs: [x for x in xs if x["filter"] == "strict-match"])
    with pytest.raises(EvalcliffError, match=f"^base {base / g}: task 'gsm8k' has no filter"):
        read_lmeval_pair(base / g, cand / g, "exact_match,flexible-extract")
    # without --metric: acc, the only metric both log, for both (base's list names acc first)
    _set_metric_list(base, "arc_easy", ["acc_norm", "acc"])
    b, c = read_lmeval_pair(base / f, cand / f)
    assert b.choices == c.choices == {"arc_easy": "acc,none"}


def test_pair_refuses_when_nothing_in_common(tmp_path: Path) -> None:
    g = f"samples_gsm8k_{DATE}.jsonl"
    base = write_lmeval_output(tmp_path / "o", "fp16", {}, results_json=False) / g
    cand = write_lmeval_output(tmp_path / "o2", "q4", {}, results_json=False) / g
    _rewrite(base, lambda xs: [x for x in xs if x["filter"] == "strict-match"])
    _rewrite(cand, lambda xs: [x for x in xs if x["filter"] == "flexible-extract"])
    with pytest.raises(EvalcliffError, match=r"one filter .*\(both logged: none\)$"):
        read_lmeval_pair(base, cand)


def test_pair_refuses_different_tasks(tmp_path: Path) -> None:
    base = write_lmeval_output(tmp_path / "o", "fp16", {})
    cand = write_lmeval_output(tmp_path / "o2", "q4", {})
    (cand / f"samples_arc_easy_{DATE}.jsonl").unlink()
    with pytest.raises(EvalcliffError, match=r"different lm-eval tasks \(only in base: \['arc"):
        read_lmeval_pair(base, cand)
