"""Generated slices go to the LM through lm-eval's cache layer directly: the requests (texts,
generation kwargs, cache keys) and answers must be exactly those of lm-eval's own task
machinery (`simple_evaluate` over `task_configs`), so that outputs and an interrupted run's
cache carry over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlitedict import SqliteDict

from evalcliff.backends.mock import MockLM
from evalcliff.runner import lmeval
from evalcliff.runner.run import prepare_items
from evalcliff.suites.spec import load_suite


class RecordingLM(MockLM):
    """The mock, recording each request's arguments in the order it receives them."""

    def __init__(self, answers: dict[str, str]) -> None:
        super().__init__(answers, error_rate=0.3, seed=5)
        self.seen: list[Any] = []

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        self.seen.extend(r.args for r in requests)
        return super().generate_until(requests, disable_tqdm)


def _through_simple_evaluate(
    lm: RecordingLM, configs: list[dict[str, Any]], cache: Path, chat: bool, system: str | None
) -> dict[str, str]:
    import lm_eval
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_defaults=False)
    res = lm_eval.simple_evaluate(
        model=lm, tasks=configs, predict_only=True, task_manager=tm, use_cache=str(cache),
        log_samples=True, bootstrap_iters=0, apply_chat_template=chat, system_instruction=system,
        random_seed=1, numpy_random_seed=1, torch_random_seed=1, fewshot_random_seed=1,
        verbosity="ERROR",
    )  # fmt: skip
    assert res is not None
    return {
        s["doc"]["item_id"]: s["filtered_resps"][0] for ss in res["samples"].values() for s in ss
    }


@pytest.mark.parametrize("chat", [False, True], ids=["completion", "chat"])
@pytest.mark.parametrize("system", [None, "Answer tersely."], ids=["no-system", "system"])
def test_direct_requests_are_lm_evals_own(
    mini_suite: Path, tmp_path: Path, chat: bool, system: str | None
) -> None:
    spec = load_suite(str(mini_suite))
    items, _ = prepare_items(spec)
    answers = {it.prompt: it.target for it in items}

    theirs_lm = RecordingLM(answers)
    theirs = _through_simple_evaluate(
        theirs_lm, lmeval.task_configs(spec, items), tmp_path / "old", chat, system
    )

    ours_lm = RecordingLM(answers)
    requests = lmeval.item_requests(ours_lm, spec, items, chat=chat, system_prompt=system)
    ours, hashes = lmeval.generate_items(
        ours_lm, [(iid, *r) for iid, r in requests.items()], tmp_path / "new", seed=1
    )

    # the same request texts and kwargs (dict order included: it is hashed) ...
    def dumped(args: list[Any]) -> list[str]:
        return sorted(json.dumps(list(a)) for a in args)

    assert dumped(ours_lm.seen) == dumped(theirs_lm.seen)
    assert len(ours_lm.seen) == len(items)
    # ... so the same cache keys and answers
    with (
        SqliteDict(str(tmp_path / "old_rank0.db")) as old,
        SqliteDict(str(tmp_path / "new_rank0.db")) as new,
    ):
        assert dict(old.items()) == dict(new.items())
        assert set(new.keys()) == set(hashes.values())
    assert ours == theirs
    if chat:
        assert all(c.endswith("<assistant>") for c, _ in requests.values())
    if system:
        assert all(system in c for c, _ in requests.values())


def test_cached_answers_are_not_asked_again(mini_suite: Path, tmp_path: Path) -> None:
    spec = load_suite(str(mini_suite))
    items, _ = prepare_items(spec)
    lm = RecordingLM({it.prompt: it.target for it in items})
    built = lmeval.item_requests(lm, spec, items, chat=False, system_prompt=None)
    requests = [(iid, *r) for iid, r in built.items()]
    first, _ = lmeval.generate_items(lm, requests[:10], tmp_path / "c", seed=1)
    lm.seen.clear()
    both, _ = lmeval.generate_items(lm, requests, tmp_path / "c", seed=1)
    assert len(lm.seen) == len(requests) - 10
    assert {k: both[k] for k in first} == first


def test_answers_a_backend_did_not_hook_are_stored(mini_suite: Path, tmp_path: Path) -> None:
    class Hookless(RecordingLM):
        def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
            return [" x"] * len(requests)

    spec = load_suite(str(mini_suite))
    items, _ = prepare_items(spec)
    lm = Hookless({})
    built = lmeval.item_requests(lm, spec, items, chat=False, system_prompt=None)
    _, hashes = lmeval.generate_items(
        lm, [(iid, *r) for iid, r in built.items()], tmp_path / "c", seed=1
    )
    with SqliteDict(str(tmp_path / "c_rank0.db")) as db:
        assert dict(db.items()) == {h: " x" for h in hashes.values()}
