"""evalcliff's vLLM throughput against vLLM's own offline run of the same prompts (GPU only).

`python -m evalcliff.dev.bench --only vllm` on a CUDA machine with vLLM installed
(`pip install -e '.[vllm]'`). The same prompts (the smoke suite's, as the harness section
writes them), greedy, the same `max_gen_toks` and stop strings, the same engine settings:
- ours: `evalcliff run vllm_fp16` (a `vllm` variant of the embedded model), a whole
  process; its generation phase is the run header's `perf` (requests over the wall time of
  generation);
- vLLM's own: one `LLM.generate` call over every prompt (`offline`), in its own process.

The goal is >= 90% of vLLM's offline throughput (items per second of generation). Without
vLLM or a GPU the section says so and measures nothing; tests never need it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GOAL = 0.90
SETTINGS = {"dtype": "float16", "gpu_memory_utilization": 0.3, "max_model_len": 1024, "seed": 0}


def unavailable() -> str | None:
    """Why the section cannot run here, or None when it can."""
    from importlib.util import find_spec

    if find_spec("vllm") is None:
        return "vLLM is not installed (pip install -e '.[vllm]' on a CUDA machine)"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device"
    return None


def variants_toml() -> str:
    """The `vllm_fp16` variant: the embedded model through vLLM with `SETTINGS`."""
    lines = ['[variants.vllm_fp16]', 'backend = "vllm"', 'model = "embedded"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in SETTINGS.items()]
    return "\n".join(lines) + "\n"


def offline(prompts: Path, model_dir: str, out: Path) -> dict[str, Any]:
    """vLLM's own offline run: `LLM.generate` once over the prompts (one JSON object per
    line: prompt, max_gen_toks, until), greedy. Writes the outputs (one JSON string per
    line) to `out`; returns the generation's wall seconds, items and output tokens."""
    from vllm import LLM, SamplingParams

    recs = [json.loads(line) for line in prompts.read_text(encoding="utf-8").splitlines()]
    llm = LLM(model=model_dir, **SETTINGS)
    params = [
        SamplingParams(temperature=0.0, max_tokens=r["max_gen_toks"], stop=r["until"] or None)
        for r in recs
    ]
    t0 = time.perf_counter()
    results = llm.generate([r["prompt"] for r in recs], params)
    wall = time.perf_counter() - t0
    texts = [r.outputs[0].text for r in results]
    out.write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")
    tokens = sum(len(r.outputs[0].token_ids) for r in results)
    return {"generate_s": wall, "items": len(recs), "output_tokens": tokens}


def section(quick: bool, work: Path) -> dict[str, Any]:
    """Throughput of `evalcliff run` with the vllm backend vs vLLM offline (see module doc)."""
    why = unavailable()
    title = ["## vLLM throughput (GPU)", ""]
    if why is not None:
        return {"skipped": why, "markdown": [*title, f"Skipped: {why}. Goal >= 90%.", ""]}
    from evalcliff.backends.hf import checkpoint_dir
    from evalcliff.config.variants import VLLMVariant, load_variants
    from evalcliff.dev.bench.harness import _prompts
    from evalcliff.results import read_run
    from evalcliff.runner.run import prepare_items
    from evalcliff.suites.spec import load_suite

    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "vllm.toml"
    cfg.write_text(variants_toml(), encoding="utf-8")
    limit = 10 if quick else None
    n = _prompts("smoke", limit, work / "prompts.jsonl")
    variant = load_variants(cfg)["vllm_fp16"]
    assert isinstance(variant, VLLMVariant)
    model_dir, _ = checkpoint_dir(variant)
    t0 = time.perf_counter()
    ref = subprocess.run(
        [sys.executable, "-c", _OFFLINE, str(work / "prompts.jsonl"), str(model_dir),
         str(work / "offline.jsonl")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    ref_process = time.perf_counter() - t0
    theirs = json.loads(ref.stdout.strip().splitlines()[-1])
    exe = str(Path(sys.executable).with_name("evalcliff"))
    out = work / "ours.parquet"
    cmd = [exe, "run", "vllm_fp16", "--config", str(cfg), "--suite", "smoke", "--out", str(out)]
    cmd += ["--force", *(["--limit", str(limit)] if limit else [])]
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    ours_process = time.perf_counter() - t0
    run = read_run(out)
    assert run.header is not None
    perf = run.header.perf
    ours_rate = perf.requests_computed / perf.wall_s if perf.wall_s else 0.0
    ref_rate = theirs["items"] / theirs["generate_s"]
    texts = [json.loads(x) for x in (work / "offline.jsonl").read_text().splitlines()]
    items, _ = prepare_items(load_suite("smoke"), limit=limit)  # the prompts' order
    ours = dict(zip(run.results["item_id"], run.results["output"], strict=True))
    same = sum(ours.get(it.item_id) == t for it, t in zip(items, texts, strict=True)) / max(1, n)
    ratio = ours_rate / ref_rate
    md = [
        *title,
        f"{n} smoke prompts, greedy, `{json.dumps(SETTINGS)}`. Generation phase: evalcliff"
        f" {ours_rate:.1f} items/s vs vLLM offline {ref_rate:.1f} items/s:"
        f" **{100 * ratio:.0f}%** (goal >= {100 * GOAL:.0f}%). Whole processes:"
        f" {ours_process:.1f} s vs {ref_process:.1f} s. Same output on {100 * same:.0f}% of"
        " items.",
        "",
    ]
    return {
        "items": n, "ours_items_per_s": ours_rate, "offline_items_per_s": ref_rate,
        "ratio": ratio, "goal": GOAL, "ours_process_s": ours_process,
        "offline_process_s": ref_process, "offline": theirs, "same_output_share": same,
        "markdown": md,
    }  # fmt: skip


_OFFLINE = """
import json, sys
from pathlib import Path
from evalcliff.dev.bench.vllm import offline
print(json.dumps(offline(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))))
"""
