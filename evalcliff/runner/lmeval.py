"""The one module that talks to lm-eval: requests, the cache hook, samples, errors.

- Generated/JSONL slices: each item is one lm-eval `generate_until` request, handed to the
  backend (an lm-eval `LM`) through lm-eval's `CachingLM`. The request (context and
  generation kwargs, hence the cache key) is exactly the one lm-eval builds from the slice's
  task config (`task_configs`: a dict config, docs = the slice's items, zero-shot); a test
  holds the two equal. Going to the LM directly skips what `simple_evaluate` adds around it
  for these slices (per-doc Jinja templates, sample logging, metrics, the environment
  report with its `pip list`): about 3 s of CPU on the smoke suite, for the same outputs.
- `lm_eval_task` slices name an lm-eval task (built in, or defined in the slice's
  `lm_eval_include` directory) and run through `simple_evaluate`: their per-sample metric
  becomes the item score.
- Persistence: lm-eval's `CachingLM` keeps each finished request in SQLite (autocommit),
  keyed on the request; every run gets its own cache directory because the key does not
  include the model. `JournalHook` wraps lm-eval's cache hook to also append one JSON line
  per finished item (request hash, latency), which feeds progress and `latency_s`.
- The error signal: a backend answers `ERROR_PREFIX + reason` for a request that failed for
  good; lm-eval caches whatever it is given, so `purge_errors` drops those from the cache.
- Context: `context_budget` finds requests longer than the model's context, which lm-eval
  would left-truncate silently; the runner records them as error rows instead.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalcliff.errors import ERROR_PREFIX, EvalcliffError
from evalcliff.suites.items import Item, prompt_hash
from evalcliff.suites.spec import SuiteSpec


def task_name(suite: str, slice_name: str) -> str:
    return f"evalcliff_{suite}_{slice_name}"


def generation_kwargs(spec: SuiteSpec, slice_name: str) -> dict[str, Any]:
    """A generated slice's lm-eval generation kwargs (their order is part of the cache key)."""
    g = spec.slices[slice_name].generation
    return {"until": list(g.until), "max_gen_toks": g.max_gen_toks, "do_sample": False}


def task_configs(spec: SuiteSpec, items: list[Item]) -> list[dict[str, Any]]:
    """One generate_until task per generated/JSONL slice, docs = its items (in order): the
    lm-eval tasks whose requests `item_requests` builds directly."""
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
                "generation_kwargs": generation_kwargs(spec, slice_name),
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

    A sample any of whose responses (raw `resps` or `filtered_resps`) is a failed request's
    marker (`ERROR_PREFIX + reason`, which lm-eval scores as a wrong answer) is an error row
    as `score_outputs` makes them: error = the reason, output "", score 0, not correct.
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
            failure = _error_marker(s.get("resps")) or _error_marker(s.get("filtered_resps"))
            value = 0.0 if failure is not None else float(s[metric])
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
                    "output": "" if failure is not None else output,
                    "target": str(s.get("target", "")),
                    "score": value,
                    "correct": value >= 1.0,
                    "catastrophic": False,
                    "error": None if failure is None else failure[len(ERROR_PREFIX) :],
                    "latency_s": None,
                    "ttft_s": None,
                    "output_tokens": None,
                }
            )
    return rows


def _error_marker(resps: Any) -> str | None:
    """The first failed request's marker among a sample's responses, however nested (a
    generate_until sample holds `[[text]]`, a loglikelihood one `[[(logprob, greedy)], ...]`)."""
    if isinstance(resps, str):
        return resps if resps.startswith(ERROR_PREFIX) else None
    if isinstance(resps, (list, tuple)):
        for r in resps:
            found = _error_marker(r)
            if found is not None:
                return found
    return None


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
    """Make `lm.set_cache_hook` wrap whatever hook lm-eval installs in a JournalHook.

    It wraps the LM's own setter (its class's), never an earlier `install_journal`'s: a
    second call replaces the first, so an LM kept for several runs (`HeldBackend`) writes
    each run's answers to that run's journal only."""
    own = type(lm).set_cache_hook

    def set_cache_hook(hook: Any) -> None:
        own(lm, JournalHook(hook, journal, on_item, on_result))

    lm.set_cache_hook = set_cache_hook


def purge_errors(cache_db: Path, prefix: str) -> int:
    """Delete cached responses that are error markers, so a rerun retries them.

    lm-eval's CachingLM stores every response it is given, failures included. Waits up to a
    minute for a writer that still holds the database (lm-eval's own connection)."""
    if not cache_db.exists():
        return 0
    from sqlitedict import SqliteDict

    n = 0
    with SqliteDict(str(cache_db), autocommit=True, timeout=60, outer_stack=False) as db:
        for k, v in list(db.items()):
            if isinstance(v, str) and v.startswith(prefix):
                del db[k]
                n += 1
    return n


def context_budget(lm: Any) -> tuple[int, Callable[[str], int]] | None:
    """(context length in tokens, request context -> its token count) for models whose
    tokenizer and context evalcliff can see in-process (hf, vllm); None otherwise (a served
    model's server refuses an over-long prompt itself, which becomes an error row)."""
    max_length = getattr(lm, "max_length", None)
    encode = getattr(lm, "tok_encode", None)
    if not isinstance(max_length, int) or max_length <= 0 or encode is None:
        return None
    return max_length, lambda context: len(encode(context))


def request_context(lm: Any, prompt: str, *, chat: bool, system_prompt: str | None) -> str:
    """The context lm-eval builds for a zero-shot generate_until doc whose text is `prompt`
    (`ConfigurableTask.fewshot_context`, no description, empty delimiters, no gen_prefix):
    the system prompt then the prompt, or the LM's chat template over a system turn (if any)
    and a user turn, ready for the assistant's answer."""
    if not chat:
        return (system_prompt or "") + prompt
    turns = [{"role": "system", "content": system_prompt}] if system_prompt else []
    turns.append({"role": "user", "content": prompt})
    return str(lm.apply_chat_template(turns, add_generation_prompt=True))


def item_requests(
    lm: Any, spec: SuiteSpec, items: list[Item], *, chat: bool, system_prompt: str | None
) -> dict[str, tuple[str, dict[str, Any]]]:
    """item_id -> the (context, generation kwargs) of its generate_until request, as lm-eval
    builds it from `task_configs` (same texts, so the same cache keys)."""
    return {
        it.item_id: (
            request_context(lm, it.prompt, chat=chat, system_prompt=system_prompt),
            generation_kwargs(spec, it.slice),
        )
        for it in items
    }


def _seed_like_simple_evaluate(seed: int) -> None:
    """The seeds `simple_evaluate(random_seed=..., numpy_random_seed=..., torch_random_seed=...)`
    sets (greedy decoding uses none of them; a backend might)."""
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    torch = sys.modules.get("torch")  # only a backend that uses torch has imported it
    if torch is not None:
        torch.manual_seed(seed)


def generate_items(
    lm: Any,
    requests: list[tuple[str, str, dict[str, Any]]],
    cache: Path,
    *,
    seed: int,
) -> tuple[dict[str, str], dict[str, str]]:
    """Run (item_id, context, gen_kwargs) requests through `lm` with lm-eval's request cache
    at `cache` (`CachingLM`'s SQLite file, keys and hook: answers found there are not asked
    again, new ones are stored as each completes), in this order (the LM may regroup them,
    e.g. HFLM by generation kwargs, first seen first).
    Returns (item_id -> output text, item_id -> request hash).

    `CachingLM.generate_until` itself would look each request up with its own round trip to
    the database and then store every new answer a second time; here the cache is read in
    one query and only answers the hook did not store are written (0.6 s of CPU fewer on
    the smoke suite's 774 requests). The database is opened as `CachingLM` opens it
    (`SqliteDict(path, autocommit=True)`, lm-eval's `CacheHook` on the LM) except that
    sqlitedict does not capture the caller's stack at each write and commit (`outer_stack`,
    for its error logs: ~0.1 s of CPU over smoke's 774 answers)."""
    from lm_eval.api.instance import Instance
    from lm_eval.api.model import CacheHook
    from sqlitedict import SqliteDict

    if not requests:
        return {}, {}
    _quiet_lm_eval_bars()
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    _seed_like_simple_evaluate(seed)
    hashes = {iid: request_hash((context, kwargs)) for iid, context, kwargs in requests}
    rank = getattr(lm, "rank", 0) or int(os.environ.get("LOCAL_RANK", "0"))
    path = Path(f"{cache}_rank{rank}.db")  # simple_evaluate's file name
    path.parent.mkdir(parents=True, exist_ok=True)
    db = SqliteDict(str(path), autocommit=True, outer_stack=False)
    hook = CacheHook(None)  # what CachingLM(lm, path) installs: answers go to `db` as they come
    hook.dbdict = db
    lm.set_cache_hook(hook)
    try:
        wanted = set(hashes.values())
        cached = {k: v for k, v in db.items() if k in wanted}
        # do_sample is always False here: CachingLM would cache these requests too
        todo = [r for r in requests if hashes[r[0]] not in cached]
        instances = [
            Instance(
                request_type="generate_until",
                doc={"item_id": iid},
                arguments=(context, kwargs),
                idx=0,
                metadata=("evalcliff", k, 1),  # (task name, doc id, repeats)
            )
            for k, (iid, context, kwargs) in enumerate(todo)
        ]
        new = lm.generate_until(instances) if instances else []
        stored = set(db.keys()) if instances else set()
        for (iid, _, _), resp in zip(todo, new, strict=True):
            cached[hashes[iid]] = resp
            if hashes[iid] not in stored:  # a backend whose answers skip the hook
                db[hashes[iid]] = resp
    finally:
        db.close()  # waits for its writes; a later connection needs no wait
    outputs = {}
    for iid, h in hashes.items():
        resp = cached[h]
        outputs[iid] = resp if isinstance(resp, str) else str(resp)
    return outputs, hashes


def _quiet_lm_eval_bars() -> None:
    """Silence lm-eval's own tqdm bars (task building, cache check, requests): evalcliff
    shows one progress bar per variant from the journal, and in a CI log (no TTY) lm-eval's
    bars are a flood of carriage returns. lm-eval passes `disable=False` explicitly, so the
    bar class itself is replaced in the modules that import it (those already imported:
    `lm_eval.api.task` alone costs 0.8 s of imports, datasets included)."""
    from tqdm import tqdm

    class QuietTqdm(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    for name in ("lm_eval.api.model", "lm_eval.api.task", "lm_eval.models.huggingface"):
        module = sys.modules.get(name)
        if getattr(module, "tqdm", None) is tqdm:
            setattr(module, "tqdm", QuietTqdm)  # noqa: B010 - a module attribute


def lm_eval_task_samples(
    lm: Any,
    spec: SuiteSpec,
    cache: Path,
    *,
    chat: bool,
    system_prompt: str | None,
    seed: int,
) -> dict[str, list[dict[str, Any]]]:
    """Run the suite's `lm_eval_task` slices through `simple_evaluate`; its logged samples by
    task name ({} when there are none). Finished requests are cached under `cache`."""
    if not lm_eval_slices(spec):
        return {}
    import lm_eval
    import lm_eval.evaluator

    # lm-eval shells out to `git describe` for its own log and prints "fatal: not a git
    # repository" outside one; evalcliff records versions in the run header instead.
    lm_eval.evaluator.get_git_commit_hash = lambda: None
    _quiet_lm_eval_bars()
    # lm-eval's warnings are noise here (its one that matters, prompt truncation, cannot
    # happen: the runner refuses over-long prompts before they reach it)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    res = lm_eval.simple_evaluate(
        tasks=sorted(set(lm_eval_slices(spec).values())),
        task_manager=lm_eval_task_manager(spec),
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
    if res is None:
        raise EvalcliffError("lm-eval returned no results")
    samples: dict[str, list[dict[str, Any]]] = res["samples"]
    return samples
