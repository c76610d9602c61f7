"""The vLLM throughput section: skipped with its reason without vLLM or a GPU, and its
offline reference asks vLLM for exactly the harness's prompts, greedy, with their limits."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from evalcliff.config.variants import load_variants
from evalcliff.dev.bench import vllm as bench_vllm


def test_without_vllm_the_section_says_why_and_measures_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_vllm, "unavailable", lambda: "vLLM is not installed")
    r = bench_vllm.section(quick=True, work=tmp_path)
    assert r["skipped"] == "vLLM is not installed" and "ratio" not in r
    assert any("Skipped: vLLM is not installed" in line for line in r["markdown"])


def test_the_variant_is_a_valid_vllm_variant_with_the_offline_settings(tmp_path: Path) -> None:
    cfg = tmp_path / "v.toml"
    cfg.write_text(bench_vllm.variants_toml())
    v = load_variants(cfg)["vllm_fp16"]
    assert v.backend == "vllm"
    for key, value in bench_vllm.SETTINGS.items():
        assert getattr(v, key) == value, key


def test_offline_asks_for_the_same_prompts_greedy_with_their_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    class SamplingParams:
        def __init__(self, **kw: Any) -> None:
            self.kw = kw

    class LLM:
        def __init__(self, **kw: Any) -> None:
            seen["engine"] = kw

        def generate(self, prompts: list[str], params: list[SamplingParams]) -> list[Any]:
            seen["prompts"], seen["params"] = prompts, [p.kw for p in params]
            out = types.SimpleNamespace(text=" 4", token_ids=[7, 8])
            return [types.SimpleNamespace(outputs=[out]) for _ in prompts]

    fake = types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    recs = [
        {"prompt": "2+2=", "max_gen_toks": 8, "until": ["\n"]},
        {"prompt": "def f():", "max_gen_toks": 64, "until": []},
    ]
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in recs))
    got = bench_vllm.offline(prompts, "/models/x", tmp_path / "o.jsonl")
    assert seen["engine"] == {"model": "/models/x", **bench_vllm.SETTINGS}
    assert seen["prompts"] == ["2+2=", "def f():"]
    assert seen["params"] == [
        {"temperature": 0.0, "max_tokens": 8, "stop": ["\n"]},
        {"temperature": 0.0, "max_tokens": 64, "stop": None},
    ]
    assert got["items"] == 2 and got["output_tokens"] == 4 and got["generate_s"] >= 0
    assert [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()] == [" 4", " 4"]
