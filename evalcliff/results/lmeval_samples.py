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
the report. The run's label (`LmevalRun.label`) names the metric and filter each task was
scored on, e.g. `fp16 [exact_match,strict-match]`.

Primary metric of two runs compared (`read_lmeval_pair`): one (metric, filter) per task,
the same for both sides. `--metric METRIC` or `METRIC,FILTER` is used on both and must be
logged by both. Otherwise, per task, among what both sides logged: the filter is the only
one in common, else the first of a results_*.json's filter list (its `filter_list`, else
the order of its `METRIC,FILTER` results) that both have — when both sides have a
results_*.json they must agree — else the first filter of both files when they agree; the
metric likewise (the first of `metric_list`, else the first per-sample metric logged of
both). Anything else (nothing in common, two results_*.json naming different ones, files
listing them in a different order) is an EvalcliffError listing the candidates: a
different choice per side would give a wrong verdict without a trace.

Primary metric of one run read alone (`read_lmeval_samples`): `METRIC` or `METRIC,FILTER`
when given, else the first entry of the task's `metric_list` in results_*.json, else the
sample's first metric; the filter is the given one, else the first seen in the file.

The metric must be a number in [0, 1] where higher is better; anything else is an
EvalcliffError naming the file and task.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evalcliff.errors import EvalcliffError
from evalcliff.schema.run import RESULT_COLUMNS, RunArtifact

SAMPLES_NAME = re.compile(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[0-9.\-]+)\.jsonl$")
SAMPLE_KEYS = ("doc_id", "prompt_hash", "filter", "metrics")
RESULT_INFO_KEYS = ("alias", "name", "sample_len", "samples")


@dataclass(frozen=True)
class LmevalRun(RunArtifact):
    """A run read from lm-eval samples; `choices` is task -> the "METRIC,FILTER" its score
    is, shown in the label (so the report and the banner say what was compared)."""

    choices: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.path.name} [{describe_choices(self.choices)}]"


def describe_choices(choices: Mapping[str, str]) -> str:
    """The choices as text: `M,F` when every task was scored on one, else
    `task, task: M,F; task: M2,F2` (at most three tasks named per choice)."""
    groups: dict[str, list[str]] = {}
    for task, choice in choices.items():
        groups.setdefault(choice, []).append(task)
    if len(groups) <= 1:
        return next(iter(groups), "")
    parts = []
    for choice, tasks in groups.items():
        more = f" +{len(tasks) - 3}" if len(tasks) > 3 else ""
        parts.append(f"{', '.join(tasks[:3])}{more}: {choice}")
    return "; ".join(parts)


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


@dataclass(frozen=True)
class _Prefs:
    """What the newest results_*.json says per task (all empty without one)."""

    metrics: dict[str, list[str]] = field(default_factory=dict)  # metric_list order
    filters: dict[str, list[str]] = field(default_factory=dict)  # filter_list / results order
    better: dict[str, Any] = field(default_factory=dict)  # {metric: higher is better}


def _filter_order(cfg: object, result: object) -> list[str]:
    """The task's filters as results_*.json lists them: its config's `filter_list`, else the
    order of its `METRIC,FILTER` result keys."""
    flist = cfg.get("filter_list") if isinstance(cfg, dict) else None
    names = [str(f["name"]) for f in flist or [] if isinstance(f, dict) and "name" in f]
    if not names and isinstance(result, dict):
        for key in result:
            metric, sep, flt = str(key).partition(",")
            if sep and not metric.endswith("_stderr") and metric not in RESULT_INFO_KEYS:
                names.append(flt)
    return list(dict.fromkeys(names))


def _prefs(root: Path) -> _Prefs:
    found = sorted(root.glob("results_*.json"))
    if not found:
        return _Prefs()
    try:
        data = json.loads(found[-1].read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalcliffError(f"{found[-1]}: cannot read lm-eval results: {exc}") from None
    if not isinstance(data, dict):
        return _Prefs()
    configs = data.get("configs")
    configs = configs if isinstance(configs, dict) else {}
    results = data.get("results")
    results = results if isinstance(results, dict) else {}
    metrics: dict[str, list[str]] = {}
    for task, cfg in configs.items():
        mlist = cfg.get("metric_list") if isinstance(cfg, dict) else None
        names = [m["metric"] for m in mlist or [] if isinstance(m, dict) and "metric" in m]
        if names:
            metrics[str(task)] = [str(n) for n in names]
    filters: dict[str, list[str]] = {}
    for task in dict.fromkeys([*configs, *results]):
        order = _filter_order(configs.get(task), results.get(task))
        if order:
            filters[str(task)] = order
    better = data.get("higher_is_better")
    return _Prefs(metrics, filters, better if isinstance(better, dict) else {})


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


def _score(value: object, where: str, task: str, metric: str, doc_id: object) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0:
        return float(value)
    raise EvalcliffError(
        f"{where}: task {task!r} metric {metric!r} of doc {doc_id!r} is {value!r}, not a"
        " number in [0, 1]; pick a per-sample 0-1 metric with --metric"
    )


@dataclass(frozen=True)
class _Task:
    """One task's samples file as read, with what it offers to score on."""

    who: str  # "base ", "cand " or "" (one run read alone): prefixes the file in errors
    path: Path
    task: str
    samples: list[dict[str, Any]]
    prefs: _Prefs

    @property
    def where(self) -> str:
        return f"{self.who}{self.path}"

    @property
    def filters(self) -> list[str]:
        """The filters in file order."""
        return list(dict.fromkeys(str(s["filter"]) for s in self.samples))

    def metrics(self, flt: str) -> list[str]:
        """The per-sample metrics logged for `flt` (its first sample's `metrics`)."""
        first = next(s for s in self.samples if str(s["filter"]) == flt)
        return [str(m) for m in first.get("metrics") or []]

    def check_filter(self, flt: str) -> None:
        if flt not in self.filters:
            raise EvalcliffError(
                f"{self.where}: task {self.task!r} has no filter {flt!r} (it has"
                f" {self.filters})"
            )

    def check_metric(self, name: str, flt: str) -> None:
        logged = self.metrics(flt)
        if name not in logged:
            raise EvalcliffError(
                f"{self.where}: task {self.task!r} has no per-sample metric {name!r} for"
                f" filter {flt!r} (it has {logged})"
            )


def _read_side(path: Path, who: str) -> dict[str, _Task]:
    """task -> its newest samples file, read, for one run's path (see
    `read_lmeval_samples`)."""
    if path.is_dir():
        files = _sample_files(path)
        if not files:
            raise EvalcliffError(
                f"{who}{path}: no lm-eval samples_*.jsonl (run lm-eval with --log_samples)"
            )
        root = files[0].parent
        tasks = _latest_per_task(files)
    elif path.is_file():
        root = path.parent
        tasks = {_task_and_date(path)[0]: path}
    else:
        raise EvalcliffError(f"{who}{path}: not found")
    prefs = _prefs(root)
    return {t: _Task(who, f, t, _lines(f), prefs) for t, f in tasks.items()}


def _rows(t: _Task, name: str, flt: str) -> list[dict[str, Any]]:
    """The task's rows scored on metric `name` of filter `flt` (both present: checked)."""
    better = t.prefs.better.get(t.task)
    if isinstance(better, dict) and better.get(name) is False:
        raise EvalcliffError(
            f"{t.where}: task {t.task!r} metric {name!r} is lower-is-better; pick a metric"
            " where higher is better with --metric"
        )
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for s in t.samples:
        if str(s["filter"]) != flt:
            continue
        doc_id = s["doc_id"]
        item_id = f"{t.task}/{doc_id}"
        if item_id in seen:
            raise EvalcliffError(f"{t.where}: doc_id {doc_id!r} appears twice for filter {flt!r}")
        seen.add(item_id)
        if name not in s:
            raise EvalcliffError(f"{t.where}: doc {doc_id!r} lacks metric {name!r}")
        score = _score(s[name], t.where, t.task, name, doc_id)
        rows.append(
            {
                "item_id": item_id,
                "suite": "lm-eval",
                "slice": t.task,
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


def _artifact(path: Path, tasks: dict[str, _Task], chosen: dict[str, tuple[str, str]]) -> LmevalRun:
    rows: list[dict[str, Any]] = []
    for task, t in tasks.items():
        rows += _rows(t, *chosen[task])
    df = pd.DataFrame(rows, columns=[*RESULT_COLUMNS, "prompt"]).astype(RESULT_COLUMNS)
    choices = {task: f"{name},{flt}" for task, (name, flt) in chosen.items()}
    return LmevalRun(path=path, header=None, results=df, choices=choices)


def _split(metric: str | None) -> tuple[str, str]:
    name, _, flt = (metric or "").partition(",")
    return name.strip(), flt.strip()


def _single_choice(t: _Task, metric: str | None) -> tuple[str, str]:
    """One run read alone: the given metric/filter, else its own defaults."""
    name, flt = _split(metric)
    flt = flt or t.filters[0]
    t.check_filter(flt)
    if name:
        t.check_metric(name, flt)
        return name, flt
    logged = t.metrics(flt)
    defaults = t.prefs.metrics.get(t.task, [])
    name = next((m for m in defaults if m in logged), logged[0] if logged else "")
    if not name:
        raise EvalcliffError(f"{t.where}: task {t.task!r} logs no per-sample metric")
    return name, flt


def read_lmeval_samples(path: str | Path, metric: str | None = None) -> LmevalRun:
    """lm-eval `--log_samples` output as a headerless run (see the module doc).

    `path` is one samples_TASK_DATE.jsonl file or a directory of them (a model's output
    directory, or the `--output_path` holding exactly one model's directory); per task the
    newest file is read. `metric`: "NAME" or "NAME,FILTER" for every task. Raises
    EvalcliffError naming the file for anything that cannot be read as asked. Two runs to
    be compared are read with `read_lmeval_pair`, which scores both on one choice.
    """
    path = Path(path)
    tasks = _read_side(path, "")
    return _artifact(path, tasks, {task: _single_choice(t, metric) for task, t in tasks.items()})


def _pick(common: list[str], prefs: list[list[str]], firsts: list[str]) -> str | None:
    """The one of `common` (what both runs logged) to score on, None when ambiguous: the
    only one; else the first of each results_*.json's order that both have (they must
    agree); else the first of both files when they agree."""
    if len(common) == 1:
        return common[0]
    named = {x for x in (next((y for y in p if y in common), None) for p in prefs) if x}
    if named:
        return named.pop() if len(named) == 1 else None
    return firsts[0] if len(set(firsts)) == 1 and firsts[0] in common else None


def _ambiguous(b: _Task, c: _Task, what: str, why: str, candidates: list[str]) -> EvalcliffError:
    listed = ", ".join(candidates) if candidates else "none"
    form = "METRIC,FILTER" if what == "filter" else "METRIC[,FILTER]"
    return EvalcliffError(
        f"task {b.task!r}: cannot score base {b.path} and cand {c.path} on one {what}"
        f" ({why}); pass --metric {form} (both logged: {listed})"
    )


def _pair_choice(b: _Task, c: _Task, metric: str | None) -> tuple[str, str]:
    """One (metric, filter) for the task in both runs (see the module doc)."""
    name, flt = _split(metric)
    sides = (b, c)
    if flt:
        for t in sides:
            t.check_filter(flt)
    else:
        common = [f for f in b.filters if f in c.filters]
        pairs = [f"{m},{f}" for f in common for m in b.metrics(f) if m in c.metrics(f)]
        if not common:
            why = f"filters: base {b.filters}, cand {c.filters}"
            raise _ambiguous(b, c, "filter", why, pairs)
        prefs = [t.prefs.filters.get(t.task, []) for t in sides]
        picked = _pick(common, prefs, [t.filters[0] for t in sides])
        if picked is None:
            why = (
                f"base lists {b.filters[0]!r} first, cand {c.filters[0]!r}"
                if not any(prefs)
                else f"their results_*.json order filters {prefs[0]} vs {prefs[1]}"
            )
            raise _ambiguous(b, c, "filter", why, pairs)
        flt = picked
    if name:
        for t in sides:
            t.check_metric(name, flt)
        return name, flt
    logged = [t.metrics(flt) for t in sides]
    common = [m for m in logged[0] if m in logged[1]]
    candidates = [f"{m},{flt}" for m in common]
    if not common:
        why = f"filter {flt!r} metrics: base {logged[0]}, cand {logged[1]}"
        raise _ambiguous(b, c, "metric", why, candidates)
    prefs = [t.prefs.metrics.get(t.task, []) for t in sides]
    picked = _pick(common, prefs, [m[0] for m in logged])
    if picked is None:
        why = (
            f"base logs {logged[0][0]!r} first, cand {logged[1][0]!r}"
            if not any(prefs)
            else f"their results_*.json metric_list: {prefs[0]} vs {prefs[1]}"
        )
        raise _ambiguous(b, c, "metric", why, candidates)
    return picked, flt


def read_lmeval_pair(
    base_path: str | Path, cand_path: str | Path, metric: str | None = None
) -> tuple[LmevalRun, LmevalRun]:
    """Two lm-eval `--log_samples` outputs (each as `read_lmeval_samples` takes it) as the
    base and candidate runs of a comparison, every task scored on one metric and filter in
    both (see the module doc; each run's label names them). Raises EvalcliffError, naming
    the side and file, when the two hold different tasks, when `metric` is missing from
    either, or when no single choice follows from what both logged."""
    base_path, cand_path = Path(base_path), Path(cand_path)
    base, cand = _read_side(base_path, "base "), _read_side(cand_path, "cand ")
    only_b, only_c = sorted(set(base) - set(cand)), sorted(set(cand) - set(base))
    if only_b or only_c:
        raise EvalcliffError(
            f"base {base_path} and cand {cand_path} hold different lm-eval tasks (only in"
            f" base: {only_b or 'none'}; only in cand: {only_c or 'none'}); evaluate both on"
            " the same tasks"
        )
    chosen = {task: _pair_choice(base[task], cand[task], metric) for task in base}
    return _artifact(base_path, base, chosen), _artifact(cand_path, cand, chosen)
