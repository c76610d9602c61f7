"""Speed work must not change a number: a run's outputs and scores are those recorded before
the harness was made faster, the bare engine agrees with them, and the batched KL pass
equals the one-item-at-a-time pass within float rounding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalcliff.backends.hf import checkpoint_dir
from evalcliff.config.variants import builtin_variant
from evalcliff.results import read_run
from evalcliff.runner.run import prepare_items, run_variant
from evalcliff.suites.spec import load_suite

GOLDEN = Path(__file__).with_name("data") / "mini_fp16_outputs.json"


def test_run_outputs_and_scores_are_unchanged(mini_suite: Path, tmp_path: Path) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    run_variant(
        "fp16", builtin_variant("fp16"), load_suite(str(mini_suite)), tmp_path / "r.parquet"
    )
    df = read_run(tmp_path / "r.parquet").results
    got = {
        r.item_id: {
            "output": r.output,
            "score": r.score,
            "correct": bool(r.correct),
            "catastrophic": bool(r.catastrophic),
        }
        for r in df.itertuples()
    }
    assert got == golden


def test_bare_engine_gives_the_same_outputs(mini_suite: Path, tmp_path: Path) -> None:
    from evalcliff.dev.bench import bare

    spec = load_suite(str(mini_suite))
    items, _ = prepare_items(spec)
    with (tmp_path / "p.jsonl").open("w") as f:
        for it in items:
            g = spec.slices[it.slice].generation
            rec = {"prompt": it.prompt, "max_gen_toks": g.max_gen_toks, "until": list(g.until)}
            f.write(json.dumps(rec) + "\n")
    model_dir, _ = checkpoint_dir(builtin_variant("fp16"))  # type: ignore[arg-type]
    bare.main([str(tmp_path / "p.jsonl"), str(model_dir), str(tmp_path / "o.jsonl")])
    outs = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert outs == [golden[it.item_id]["output"] for it in items]


def test_batched_kl_pass_equals_one_at_a_time(mini_suite: Path) -> None:
    from evalcliff.distribution.hf import token_divergence

    spec = load_suite(str(mini_suite))
    items, _ = prepare_items(spec)
    # uneven output lengths (some empty) so that batches are padded
    outputs = {it.item_id: it.target * (i % 3) for i, it in enumerate(items)}
    base_dir, _ = checkpoint_dir(builtin_variant("fp16"))  # type: ignore[arg-type]
    cand_dir, _ = checkpoint_dir(builtin_variant("q4"))  # type: ignore[arg-type]
    one = token_divergence(base_dir, cand_dir, items, outputs, batch_size=1)
    many = token_divergence(base_dir, cand_dir, items, outputs, batch_size=8)
    assert list(one["item_id"]) == list(many["item_id"]) == [it.item_id for it in items]
    assert list(one["n_positions"]) == list(many["n_positions"])
    assert many["kl_mean"].to_numpy() == pytest.approx(one["kl_mean"].to_numpy(), abs=1e-5)
    assert list(one["top1_agree"]) == list(many["top1_agree"])
    assert one["kl_mean"].max() > 0  # q4 differs from fp16: the comparison is not vacuous


@pytest.mark.parametrize("idle", [2.0, 0.0], ids=["idle-machine", "busy-machine"])
def test_code_items_are_scored_during_generation_where_a_core_is_free(
    idle: float, mini_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import concurrent.futures
    import threading

    from evalcliff.runner import collect

    def idle_cores(window_s: float, stop: threading.Event) -> float:
        stop.wait(window_s)
        return idle

    hits: list[bool] = []
    original = collect.EarlyCodeScorer.score

    def score(self: collect.EarlyCodeScorer, item_id: str, output: str) -> object:
        if idle:  # as if the rest of the generation outlasted the sandboxes (no race on speed)
            pending = concurrent.futures.wait(list(self.futures.values()), timeout=60).not_done
            assert not pending  # each job ran while "generation" went on, none held back
        s = original(self, item_id, output)
        hits.append(s is not None)
        return s

    monkeypatch.setattr(collect, "idle_cores", idle_cores)
    monkeypatch.setattr(collect.EarlyCodeScorer, "score", score)
    spec = load_suite(str(mini_suite))
    run_variant("fp16", builtin_variant("fp16"), spec, tmp_path / "r.parquet")
    n_code = sum(1 for it in prepare_items(spec)[0] if it.slice == "code")
    assert len(hits) == n_code
    if idle:
        assert all(hits)  # every code item was scored while the rest was generated
    else:
        assert sum(hits) <= 1  # held back (one may have started as generation ended)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    df = read_run(tmp_path / "r.parquet").results
    for r in df[df["slice"] == "code"].itertuples():
        assert r.score == golden[r.item_id]["score"]


def test_idle_cores_reads_the_machine() -> None:
    import os
    import threading
    import time

    from evalcliff.runner.collect import idle_cores

    idle = idle_cores(0.05, threading.Event())
    assert idle is None or 0.0 <= idle <= (os.cpu_count() or 1) + 1e-9
    stop = threading.Event()
    stop.set()
    t0 = time.monotonic()
    idle_cores(10.0, stop)
    assert time.monotonic() - t0 < 1.0  # a set event ends the window at once
