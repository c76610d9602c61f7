"""Suite slices as lm-eval tasks.

Generated/JSONL slices become dict task configs (no YAML registry, no !function) whose docs
are the slice's items. `lm_eval_task` slices name an lm-eval task (built in, or defined in the
slice's `lm_eval_include` directory); its per-sample metric becomes the item score.
"""

from __future__ import annotations

from typing import Any

from evalcliff.errors import EvalcliffError
from evalcliff.suites.items import Item, prompt_hash
from evalcliff.suites.spec import SuiteSpec


def task_name(suite: str, slice_name: str) -> str:
    return f"evalcliff_{suite}_{slice_name}"


def task_configs(spec: SuiteSpec, items: list[Item]) -> list[dict[str, Any]]:
    """One generate_until task per generated/JSONL slice, docs = its items (in order)."""
    import datasets

    configs = []
    for slice_name, sl in spec.slices.items():
        if sl.lm_eval_task is not None:
            continue
        docs = [
            {"item_id": it.item_id, "prompt": it.prompt, "target": it.target}
            for it in items
            if it.slice == slice_name
        ]
        if not docs:
            continue
        ds = datasets.Dataset.from_list(docs)
        configs.append(
            {
                "task": task_name(spec.name, slice_name),
                "custom_dataset": (lambda _ds=ds, **_kw: {"test": _ds}),
                "test_split": "test",
                "doc_to_text": "{{prompt}}",
                "doc_to_target": "{{target}}",
                "output_type": "generate_until",
                "target_delimiter": "",
                "generation_kwargs": {
                    "until": list(sl.generation.until),
                    "max_gen_toks": sl.generation.max_gen_toks,
                    "do_sample": False,
                },
                "metadata": {"version": spec.version},
            }
        )
    return configs


def lm_eval_slices(spec: SuiteSpec) -> dict[str, str]:
    """slice name -> lm-eval task name, for the suite's `lm_eval_task` slices."""
    return {n: sl.lm_eval_task for n, sl in spec.slices.items() if sl.lm_eval_task is not None}


def lm_eval_task_manager(spec: SuiteSpec) -> Any:
    """A TaskManager that knows the suite's lm-eval tasks (built-ins indexed only if needed)."""
    from lm_eval.tasks import TaskManager

    includes = []
    needs_builtin = False
    for sl in spec.slices.values():
        if sl.lm_eval_task is None:
            continue
        if sl.lm_eval_include:
            path = spec.resolve_path(sl.lm_eval_include)
            if not path.is_dir():
                raise EvalcliffError(
                    f"suite {spec.name!r}: lm_eval_include {path} is not a directory"
                )
            includes.append(str(path))
        else:
            needs_builtin = True
    tm = TaskManager(include_defaults=needs_builtin, include_path=includes or None)
    for name, task in lm_eval_slices(spec).items():
        if task not in tm.all_tasks:
            raise EvalcliffError(
                f"suite {spec.name!r}, slice {name!r}: lm-eval has no task {task!r}"
                + (" in lm_eval_include" if includes else "")
            )
    return tm


def lm_eval_rows(spec: SuiteSpec, samples: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Result rows from lm-eval's logged samples of the `lm_eval_task` slices.

    item_id = `SLICE/doc_id`; prompt_hash hashes the request context; score = the slice's
    metric (must lie in [0, 1]); correct = score == 1; catastrophic is never set.
    """
    import json

    rows: list[dict[str, Any]] = []
    for slice_name, task in lm_eval_slices(spec).items():
        metric = spec.slices[slice_name].scorer
        for s in samples.get(task, []):
            if metric not in s:
                known = [k for k in s.get("metrics", [])]
                raise EvalcliffError(
                    f"slice {slice_name!r}: lm-eval task {task!r} has no per-sample metric "
                    f"{metric!r} (set `scorer` to one of {known})"
                )
            value = float(s[metric])
            if not 0.0 <= value <= 1.0:
                raise EvalcliffError(
                    f"slice {slice_name!r}: metric {metric!r} = {value} is not a fraction in [0, 1]"
                )
            args = s.get("arguments") or []
            first = (
                args[0] if isinstance(args, list) and args else next(iter(dict(args).values()), ())
            )
            context = str(first[0]) if first else ""
            resp = s["filtered_resps"][0] if s.get("filtered_resps") else ""
            output = resp if isinstance(resp, str) else json.dumps(s.get("filtered_resps"))[:2000]
            iid = f"{slice_name}/{s['doc_id']}"
            rows.append(
                {
                    "item_id": iid,
                    "suite": spec.name,
                    "slice": slice_name,
                    "stratum": "all",
                    "cluster_id": iid,
                    "prompt_hash": prompt_hash(context),
                    "output": output,
                    "target": str(s.get("target", "")),
                    "score": value,
                    "correct": value >= 1.0,
                    "catastrophic": False,
                    "error": None,
                    "latency_s": None,
                    "ttft_s": None,
                    "output_tokens": None,
                }
            )
    return rows
