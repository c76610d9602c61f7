"""`RunPool` (the looks of a sequential run) keeps one worker per variant, its model loaded,
across runs, and a held backend gives every run what a fresh load would: the same outputs,
and a journal per run that no other run writes to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalcliff.config.variants import builtin_variant, resolve_variant
from evalcliff.errors import EvalcliffError
from evalcliff.paths import cache_dir
from evalcliff.results import read_run
from evalcliff.runner.backend import HeldBackend
from evalcliff.runner.journal import read_records
from evalcliff.runner.lmeval import install_journal
from evalcliff.runner.many import RunOptions, RunPool
from evalcliff.runner.run import prepare_items, run_variant
from evalcliff.suites.spec import load_suite

GOLDEN = Path(__file__).with_name("data") / "mini_fp16_outputs.json"


def _journals() -> dict[str, int]:
    """run cache directory -> requests its journal records."""
    return {p.parent.name: len(read_records(p)) for p in cache_dir().glob("runs/*/journal.jsonl")}


def test_a_pool_runs_looks_with_one_worker_per_variant_and_fresh_load_outputs(
    mini_suite: Path, tmp_path: Path
) -> None:
    spec = load_suite(str(mini_suite))
    items, _ = prepare_items(spec)
    looks = [items[::2], items[1::2]]
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    variants = {"fp16": builtin_variant("fp16")}
    logs = {"fp16": tmp_path / "logs" / "fp16.log"}
    pids, journals = [], []
    with RunPool(variants, spec, items, RunOptions(), logs) as pool:
        for k, delta in enumerate(looks, 1):
            done = pool.run({"fp16": tmp_path / f"look{k}.parquet"}, delta)
            assert not done["fp16"].reused
            pids.append(pool._procs["fp16"].pid)
            journals.append(_journals())
            df = read_run(tmp_path / f"look{k}.parquet").results
            assert sorted(df["item_id"]) == sorted(it.item_id for it in delta)
            for r in df.itertuples():  # what a fresh load of the model gives (golden run)
                assert r.output == golden[r.item_id]["output"], r.item_id
        assert not pool._procs["fp16"].exitcode
    assert pids[0] == pids[1]  # one worker (one model load) for both looks
    # look 2 wrote its own journal only: the held model's cache hook was not wrapped twice
    (first,) = journals[0].items()
    assert journals[1][first[0]] == first[1] == len(looks[0])
    (second,) = (kv for kv in journals[1].items() if kv[0] != first[0])
    assert second[1] == len(looks[1])


def test_a_held_backend_is_reused_journals_replace_and_it_holds_one_variant(
    mini_suite: Path, mock_config: Path, tmp_path: Path
) -> None:
    spec = load_suite(str(mini_suite))
    items, _ = prepare_items(spec)
    good = resolve_variant("good", mock_config)
    with HeldBackend(items) as held:
        lm, identity = held.get("good", good, tmp_path)
        install_journal(lm, tmp_path / "run1.jsonl")  # as each run does
        identity["added"] = 1
        again, identity2 = held.get("good", good, tmp_path)
        assert again is lm and "added" not in identity2
        install_journal(again, tmp_path / "run2.jsonl")
        inner = object()
        again.set_cache_hook(inner)  # what lm-eval's request cache does
        # the LM's own setter got the second run's journal only, wrapped once
        assert again.cache_hook.journal == tmp_path / "run2.jsonl"
        assert again.cache_hook.inner is inner
        with pytest.raises(ValueError, match="holds"):
            held.get("bad", resolve_variant("bad", mock_config), tmp_path)
    # two runs through one held backend: each run's rows and journal are its own
    with HeldBackend(items) as held:
        for k, part in enumerate([items[:10], items[10:]], 1):
            out = tmp_path / f"r{k}.parquet"
            run_variant("good", good, spec, out, items=part, held=held)
            assert len(read_run(out).results) == len(part)
    assert sorted(_journals().values()) == [10, len(items) - 10]


def test_a_failed_look_raises_and_stops_the_pool(
    mini_suite: Path, mock_config: Path, tmp_path: Path
) -> None:
    spec = load_suite(str(mini_suite))
    items, _ = prepare_items(spec)
    variants = {"good": resolve_variant("good", mock_config)}
    logs = {"good": tmp_path / "good.log"}
    with RunPool(variants, spec, items, RunOptions(), logs) as pool:
        with pytest.raises(EvalcliffError, match="variant 'good' failed.*good.log"):
            pool.run({"good": tmp_path / "not-parquet.txt"}, items)
        assert not pool._procs
