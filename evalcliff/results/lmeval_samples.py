"""lm-eval `--log_samples` output read as a run: one slice per task, so `compare` can pair
two models that were evaluated with lm-evaluation-harness (0.4.x) directly.

lm-eval writes, under `OUTPUT_PATH/MODEL_NAME_SANITIZED/`, one `results_DATE.json` (the
aggregate, with each task's config) and one `samples_TASK_DATE.jsonl` per task. A sample
line holds `doc_id`, `doc`, `target`, `arguments`, `resps`, `filtered_resps`, `filter`,
`metrics` (the names of its per-sample metrics), `doc_hash`, `prompt_hash`, `target_hash`
and each metric's value. A task with several filters (gsm8k's strict-match and
flexible-extract) logs every doc once per filter.

Mapping to the results contract: `item_id` = `TASK/doc_id` (the pairing key), `slice` =
the task, `prompt_hash` = lm-eval's (so two runs that saw different prompts are refused),
`score` = the task's primary metric for one filter, `correct` = score >= 0.5 (for 0/1
metrics: the metric itself), `output` = the filtered response, `stratum` = "all",
`catastrophic` = false, and an extra `prompt` column (the first request's context) for
the report.

Primary metric: `METRIC` or `METRIC,FILTER` when given (`--metric`), else the first entry
of the task's `metric_list` in results_*.json, else the sample's first metric; the filter
is the given one, else the first seen in the file. The metric must be a number in [0, 1]
where higher is better; anything else is an EvalcliffError naming the file and task.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from evalcliff.errors import EvalcliffError
from evalcliff.schema.run import RESULT_COLUMNS, RunArtifact

SAMPLES_NAME = re.compile(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[0-9.\-]+)\.jsonl$")
SAMPLE_KEYS = ("doc_id", "prompt_hash", "filter", "metrics")


def is_lmeval_samples(path: Path) -> bool:
    """Whether `path` looks like lm-eval `--log_samples` output: a directory holding
    samples_*.jsonl (here or one level down), or a samples_*.jsonl file."""
    if path.is_dir():
        return bool(_sample_files(path, strict=False))
    return path.suffix == ".jsonl" and path.name.startswith("samples_")


def _sample_files(root: Path, strict: bool = True) -> list[Path]:
    files = sorted(root.glob("samples_*.jsonl"))
    if not files:
        files = sorted(root.glob("*/samples_*.jsonl"))
        dirs = {f.parent for f in files}
        if strict and len(dirs) > 1:
            names = ", ".join(sorted(d.name for d in dirs)[:3])
            raise EvalcliffError(
                f"{root}: lm-eval samples of several models ({names}); pass one model's"
                " directory"
            )
    return files


def _task_and_date(path: Path) -> tuple[str, str]:
    m = SAMPLES_NAME.match(path.name)
    if m is None:  # a renamed file: the task name is what follows "samples_"
        return path.stem.removeprefix("samples_"), ""
    return m["task"], m["date"]


def _latest_per_task(files: list[Path]) -> dict[str, Path]:
    """task -> its newest samples file (lm-eval appends a new dated file per run)."""
    out: dict[str, tuple[str, Path]] = {}
    for f in files:
        task, date = _task_and_date(f)
        if task not in out or date > out[task][0]:
            out[task] = (date, f)
    return {t: f for t, (_, f) in sorted(out.items())}


def _metric_lists(root: Path) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
    """(task -> metric names in its config's metric_list, task -> {metric: higher is
    better}), from the newest results_*.json; empty without one."""
    found = sorted(root.glob("results_*.json"))
    if not found:
        return {}, {}
    try:
        data = json.loads(found[-1].read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalcliffError(f"{found[-1]}: cannot read lm-eval results: {exc}") from None
    configs = data.get("configs") if isinstance(data, dict) else None
    out: dict[str, list[str]] = {}
    for task, cfg in (configs or {}).items():
        metrics = cfg.get("metric_list") if isinstance(cfg, dict) else None
        names = [m["metric"] for m in metrics or [] if isinstance(m, dict) and "metric" in m]
        if names:
            out[str(task)] = [str(n) for n in names]
    better = data.get("higher_is_better") if isinstance(data, dict) else None
    return out, better if isinstance(better, dict) else {}


def _lines(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EvalcliffError(f"{path}:{n}: not JSON: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise EvalcliffError(f"{path}:{n}: a sample must be a JSON object")
                missing = [k for k in SAMPLE_KEYS if k not in row]
                if missing:
                    raise EvalcliffError(
                        f"{path}:{n}: not an lm-eval --log_samples line (lacks {missing})"
                    )
                rows.append(row)
    except UnicodeDecodeError as exc:
        raise EvalcliffError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise EvalcliffError(f"{path}: cannot read: {exc}") from None
    if not rows:
        raise EvalcliffError(f"{path}: no samples")
    return rows


def _output_text(value: object) -> str:
    """The filtered response as text: a generation's string, else compact JSON
    (loglikelihood answers are [logprob, is_greedy] per choice)."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _prompt(arguments: object) -> str:
    """The first request's context (lm-eval logs `{"gen_args_0": {"arg_0": context, ...}}`)."""
    if isinstance(arguments, dict):
        first = arguments.get("gen_args_0")
        if isinstance(first, dict) and isinstance(first.get("arg_0"), str):
            return str(first["arg_0"])
    return ""


def _score(value: object, path: Path, task: str, metric: str, doc_id: object) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0:
        return float(value)
    raise EvalcliffError(
        f"{path}: task {task!r} metric {metric!r} of doc {doc_id!r} is {value!r}, not a"
        " number in [0, 1]; pick a per-sample 0-1 metric with --metric"
    )


def _task_rows(
    path: Path, task: str, metric: str | None, default_metrics: list[str], better: Any
) -> list[dict[str, Any]]:
    samples = _lines(path)
    name, _, want_filter = (metric or "").partition(",")
    filters = list(dict.fromkeys(str(s["filter"]) for s in samples))
    flt = want_filter or filters[0]
    if flt not in filters:
        raise EvalcliffError(f"{path}: task {task!r} has no filter {flt!r} (it has {filters})")
    chosen = [s for s in samples if str(s["filter"]) == flt]
    logged = [str(m) for m in chosen[0].get("metrics") or []]
    if name:
        if name not in logged:
            raise EvalcliffError(
                f"{path}: task {task!r} has no per-sample metric {name!r} (it has {logged})"
            )
    else:
        name = next((m for m in default_metrics if m in logged), logged[0] if logged else "")
        if not name:
            raise EvalcliffError(f"{path}: task {task!r} logs no per-sample metric")
    if isinstance(better, dict) and better.get(name) is False:
        raise EvalcliffError(
            f"{path}: task {task!r} metric {name!r} is lower-is-better; pick a metric where"
            " higher is better with --metric"
        )
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for s in chosen:
        doc_id = s["doc_id"]
        item_id = f"{task}/{doc_id}"
        if item_id in seen:
            raise EvalcliffError(f"{path}: doc_id {doc_id!r} appears twice for filter {flt!r}")
        seen.add(item_id)
        if name not in s:
            raise EvalcliffError(f"{path}: doc {doc_id!r} lacks metric {name!r}")
        score = _score(s[name], path, task, name, doc_id)
        rows.append(
            {
                "item_id": item_id,
                "suite": "lm-eval",
                "slice": task,
                "stratum": "all",
                "cluster_id": item_id,
                "prompt_hash": str(s["prompt_hash"]),
                "output": _output_text(s.get("filtered_resps")),
                "target": str(s.get("target", "")),
                "score": score,
                "correct": score >= 0.5,
                "catastrophic": False,
                "error": None,
                "latency_s": None,
                "ttft_s": None,
                "output_tokens": None,
                "prompt": _prompt(s.get("arguments")),
            }
        )
    return rows


def read_lmeval_samples(path: str | Path, metric: str | None = None) -> RunArtifact:
    """lm-eval `--log_samples` output as a headerless run (see the module doc).

    `path` is one samples_TASK_DATE.jsonl file or a directory of them (a model's output
    directory, or the `--output_path` holding exactly one model's directory); per task the
    newest file is read. `metric`: "NAME" or "NAME,FILTER" for every task. Raises
    EvalcliffError naming the file for anything that cannot be read as asked.
    """
    path = Path(path)
    if path.is_dir():
        files = _sample_files(path)
        if not files:
            raise EvalcliffError(
                f"{path}: no lm-eval samples_*.jsonl (run lm-eval with --log_samples)"
            )
        root = files[0].parent
        tasks = _latest_per_task(files)
    elif path.is_file():
        root = path.parent
        tasks = {_task_and_date(path)[0]: path}
    else:
        raise EvalcliffError(f"{path}: not found")
    defaults, better = _metric_lists(root)
    rows: list[dict[str, Any]] = []
    for task, f in tasks.items():
        rows += _task_rows(f, task, metric, defaults.get(task, []), better.get(task))
    df = pd.DataFrame(rows, columns=[*RESULT_COLUMNS, "prompt"]).astype(RESULT_COLUMNS)
    return RunArtifact(path=path, header=None, results=df)
