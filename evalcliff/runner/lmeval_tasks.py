"""Suite slices as lm-eval task configs (dicts, no YAML registry, no !function)."""

from __future__ import annotations

from typing import Any

from evalcliff.errors import EvalcliffError
from evalcliff.suites.items import Item
from evalcliff.suites.spec import SuiteSpec


def task_name(suite: str, slice_name: str) -> str:
    return f"evalcliff_{suite}_{slice_name}"


def task_configs(spec: SuiteSpec, items: list[Item]) -> list[dict[str, Any]]:
    """One generate_until task per slice whose docs are that slice's items (in order)."""
    import datasets

    configs = []
    for slice_name, sl in spec.slices.items():
        if getattr(sl, "lm_eval_task", None):
            raise EvalcliffError(
                f"suite {spec.name!r}, slice {slice_name!r}: lm_eval_task slices are validated "
                "but the runner cannot run them yet; remove the slice or use a JSONL source"
            )
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
