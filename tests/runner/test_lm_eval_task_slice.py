"""A slice that is an lm-eval task by name: its per-sample metric becomes the score."""

import json
from pathlib import Path

import pytest

from evalcliff.config.variants import resolve_variant
from evalcliff.errors import EvalcliffError
from evalcliff.results import read_results
from evalcliff.runner import run_variant
from evalcliff.suites.spec import load_suite

TASK = """\
task: toy_echo
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{question}}}}"
doc_to_target: "{{{{answer}}}}"
generation_kwargs: {{until: ["\\n"], max_gen_toks: 8, do_sample: false}}
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    regexes_to_ignore: [" "]
"""


def _suite(tmp_path: Path, metric: str = "exact_match") -> Path:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    data = tmp_path / "toy.jsonl"
    # the mock backend answers " wrong" to prompts it does not know
    rows = [{"question": f"q{k}", "answer": "wrong" if k % 2 else "right"} for k in range(6)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tasks / "toy_echo.yaml").write_text(TASK.format(data=data))
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: byo\nslices:\n  echo:\n    lm_eval_task: toy_echo\n    lm_eval_include: tasks\n"
        f"    scorer: {metric}\n    weight: 1\n"
    )
    return suite


def test_lm_eval_task_metric_is_the_score(tmp_path: Path, mock_config: Path) -> None:
    suite = _suite(tmp_path)
    out = tmp_path / "r.parquet"
    run_variant("good", resolve_variant("good", mock_config), load_suite(str(suite)), out)
    df = read_results(out).sort_values("item_id")
    assert list(df["item_id"]) == [f"echo/{k}" for k in range(6)]
    assert list(df["score"]) == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert df["prompt_hash"].nunique() == 6


def test_unknown_metric_is_a_clear_error(tmp_path: Path, mock_config: Path) -> None:
    suite = _suite(tmp_path, metric="bleu")
    with pytest.raises(EvalcliffError, match="no per-sample metric 'bleu'"):
        run_variant(
            "good",
            resolve_variant("good", mock_config),
            load_suite(str(suite)),
            tmp_path / "r.parquet",
        )
