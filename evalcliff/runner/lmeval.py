"""The one module that talks to lm-eval: task configs, the cache hook, samples, errors.

- Generated/JSONL slices become dict task configs (no YAML registry, no !function) whose docs
  are the slice's items; `lm_eval_task` slices name an lm-eval task (built in, or defined in
  the slice's `lm_eval_include` directory) whose per-sample metric becomes the item score.
- Persistence: lm-eval's `CachingLM` keeps each finished request in SQLite (autocommit),
  keyed on the request; every run gets its own cache directory because the key does not
  include the model. `JournalHook` wraps lm-eval's cache hook to also append one JSON line
  per finished item (request hash, latency), which feeds progress and `latency_s`.
- The error signal: a backend answers `ERROR_PREFIX + reason` for a request that failed for
  good; lm-eval caches whatever it is given, so `purge_errors` drops those from the cache.
- Context: `context_budget` finds prompts longer than the model's context, which lm-eval
  would left-truncate silently; the runner records them as error rows instead.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
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


def request_hash(args: Any) -> str:
    """lm-eval's cache key of a generate_until request's arguments."""
    from lm_eval.api.model import hash_args

    return str(hash_args("generate_until", args))


class JournalHook:
    """Wraps lm-eval's CacheHook: forwards `add_partial`, then journals the item, calls
    `on_item` (progress) and `on_result(context, response)` (early scoring)."""

    def __init__(
        self,
        inner: Any,
        journal: Path,
        on_item: Callable[[], None] | None,
        on_result: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.inner = inner
        self.journal = journal
        self.on_item = on_item
        self.on_result = on_result
        self._last = time.perf_counter()

    def add_partial(self, attr: str, req: Any, res: Any) -> None:
        from lm_eval.api.model import hash_args

        self.inner.add_partial(attr, req, res)
        now = time.perf_counter()
        rec = {"hash": hash_args(attr, req), "latency_s": round(now - self._last, 6)}
        self._last = now
        with self.journal.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        if self.on_item is not None:
            self.on_item()
        if self.on_result is not None and attr == "generate_until" and req:
            self.on_result(str(req[0]), res)


def install_journal(
    lm: Any,
    journal: Path,
    on_item: Callable[[], None] | None = None,
    on_result: Callable[[str, Any], None] | None = None,
) -> None:
    """Make `lm.set_cache_hook` wrap whatever hook lm-eval installs in a JournalHook."""
    original = lm.set_cache_hook

    def set_cache_hook(hook: Any) -> None:
        original(JournalHook(hook, journal, on_item, on_result))

    lm.set_cache_hook = set_cache_hook


def purge_errors(cache_db: Path, prefix: str) -> int:
    """Delete cached responses that are error markers, so a rerun retries them.

    lm-eval's CachingLM stores every response it is given, failures included. Waits up to a
    minute for a writer that still holds the database (lm-eval's own connection)."""
    if not cache_db.exists():
        return 0
    from sqlitedict import SqliteDict

    n = 0
    with SqliteDict(str(cache_db), autocommit=True, timeout=60) as db:
        for k, v in list(db.items()):
            if isinstance(v, str) and v.startswith(prefix):
                del db[k]
                n += 1
    return n


def context_budget(lm: Any, chat: bool) -> tuple[int, Callable[[str], int]] | None:
    """(context length in tokens, prompt -> its token count) for models whose tokenizer and
    context evalcliff can see in-process (hf, vllm); None otherwise (a served model's server
    refuses an over-long prompt itself, which becomes an error row)."""
    max_length = getattr(lm, "max_length", None)
    encode = getattr(lm, "tok_encode", None)
    if not isinstance(max_length, int) or max_length <= 0 or encode is None:
        return None

    def count(prompt: str) -> int:
        text = prompt
        if chat:
            text = lm.apply_chat_template([{"role": "user", "content": prompt}], True)
        return len(encode(text))

    return max_length, count


def collect_outputs(
    samples: dict[str, list[dict[str, Any]]], spec: SuiteSpec, items: list[Item]
) -> tuple[dict[str, str], dict[str, str]]:
    """(item_id -> raw output text, item_id -> request hash) from lm-eval's samples."""
    outputs: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for slice_name in spec.slices:
        for s in samples.get(task_name(spec.name, slice_name), []):
            iid = s["doc"]["item_id"]
            resp = s["filtered_resps"][0] if s["filtered_resps"] else s["resps"][0][0]
            outputs[iid] = resp if isinstance(resp, str) else str(resp)
            args = s.get("arguments")
            if args:
                first = args[0] if isinstance(args, list) else next(iter(args.values()))
                hashes[iid] = request_hash(first)
    missing = {it.item_id for it in items} - set(outputs)
    if missing:
        raise EvalcliffError(
            f"lm-eval returned no output for {len(missing)} items, e.g. {sorted(missing)[:3]}"
        )
    return outputs, hashes


def _quiet_lm_eval_bars() -> None:
    """Silence lm-eval's own tqdm bars (task building, cache check, requests): evalcliff
    shows one progress bar per variant from the journal, and in a CI log (no TTY) lm-eval's
    bars are a flood of carriage returns. lm-eval passes `disable=False` explicitly, so the
    bar class itself is replaced in the modules that import it."""
    import importlib

    from tqdm import tqdm

    class QuietTqdm(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    for name in ("lm_eval.api.model", "lm_eval.api.task", "lm_eval.models.huggingface"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "tqdm", None) is tqdm:
            setattr(module, "tqdm", QuietTqdm)  # noqa: B010 - a module attribute


def generate(
    lm: Any,
    spec: SuiteSpec,
    items: list[Item],
    cache: Path,
    *,
    chat: bool,
    system_prompt: str | None,
    seed: int,
) -> dict[str, list[dict[str, Any]]]:
    """Run every item (and the suite's lm-eval task slices) through lm-eval; its logged
    samples by task name. Finished requests are cached under `cache` as they complete."""
    import lm_eval
    import lm_eval.evaluator
    from lm_eval.tasks import TaskManager

    # lm-eval shells out to `git describe` for its own log and prints "fatal: not a git
    # repository" outside one; evalcliff records versions in the run header instead.
    lm_eval.evaluator.get_git_commit_hash = lambda: None
    _quiet_lm_eval_bars()
    # lm-eval's warnings are noise here (its one that matters, prompt truncation, cannot
    # happen: the runner refuses over-long prompts before they reach it)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    common: dict[str, Any] = dict(
        model=lm,
        use_cache=str(cache),
        log_samples=True,
        bootstrap_iters=0,
        apply_chat_template=chat,
        system_instruction=system_prompt,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
        verbosity="ERROR",
    )
    samples: dict[str, list[dict[str, Any]]] = {}
    configs = task_configs(spec, items)
    if configs:
        res = lm_eval.simple_evaluate(
            tasks=configs,
            predict_only=True,
            task_manager=TaskManager(include_defaults=False),
            **common,
        )
        if res is None:
            raise EvalcliffError("lm-eval returned no results")
        samples.update(res["samples"])
    if lm_eval_slices(spec):  # lm-eval's own tasks: their per-sample metrics are scores
        res = lm_eval.simple_evaluate(
            tasks=sorted(set(lm_eval_slices(spec).values())),
            task_manager=lm_eval_task_manager(spec),
            **common,
        )
        if res is None:
            raise EvalcliffError("lm-eval returned no results")
        samples.update(res["samples"])
    return samples
