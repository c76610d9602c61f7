"""The embedded model as GGUF F16 and Q4_K_M, served by a real llama.cpp server on loopback.

Needs llama-cpp-python (the gguf extra, built from source): `make test-slow` installs it and
runs these; `make test` skips them when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip(
    "llama_cpp", reason="llama.cpp is the gguf extra (make test-slow installs and runs it)"
)

from evalcliff.cli.main import cli  # noqa: E402
from evalcliff.embedded import MODEL_DIR  # noqa: E402
from evalcliff.embedded.gguf import embedded_gguf  # noqa: E402
from evalcliff.results import read_header  # noqa: E402
from evalcliff.suites.build import build_items  # noqa: E402
from evalcliff.suites.spec import load_suite  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.llamacpp]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _cache_env(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALCLIFF_CACHE", str(cache))


def _llama(path: Path, vocab_only: bool = False, logits_all: bool = False) -> object:
    from llama_cpp import Llama

    from evalcliff.backends.llamacpp_server import disable_extra_bufts

    disable_extra_bufts()
    return Llama(
        model_path=str(path),
        vocab_only=vocab_only,
        logits_all=logits_all,
        n_ctx=1024,
        n_threads=1,
        verbose=False,
    )


def test_llamacpp_tokenizes_every_smoke_prompt_like_hf() -> None:
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(MODEL_DIR)
    llm = _llama(embedded_gguf("F16"), vocab_only=True)
    for it in build_items(load_suite("smoke")):
        ours = llm.tokenize(it.prompt.encode(), add_bos=False, special=False)  # type: ignore[attr-defined]
        assert ours == hf.encode(it.prompt, add_special_tokens=False), it.item_id


def test_f16_gguf_logits_match_the_hf_model() -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, dtype=torch.float32)
    llm = _llama(embedded_gguf("F16"), logits_all=True)
    prompts = [it.prompt for it in build_items(load_suite("smoke"))[::97]]
    for prompt in prompts:
        ids = tok.encode(prompt, add_special_tokens=False)
        with torch.no_grad():
            ref = model(torch.tensor([ids])).logits[0, -1].numpy()
        llm.reset()  # type: ignore[attr-defined]
        llm.eval(ids)  # type: ignore[attr-defined]
        got = np.asarray(llm.scores[llm.n_tokens - 1])  # type: ignore[attr-defined]
        assert np.abs(got - ref).max() < 0.05 * max(1.0, np.abs(ref).max()), prompt[:40]
        assert got.argmax() == ref.argmax(), prompt[:40]


def test_q4_k_m_is_smaller_and_still_decodes() -> None:
    f16, q4 = embedded_gguf("F16"), embedded_gguf("Q4_K_M")
    assert q4.stat().st_size < 0.6 * f16.stat().st_size
    out = _llama(q4)("succ 41 =", max_tokens=4, temperature=0.0)  # type: ignore[operator]
    assert isinstance(out["choices"][0]["text"], str)


def test_report_f16_vs_q4_k_m_through_llama_cpp_servers(tmp_path: Path) -> None:
    cfg = tmp_path / "gguf.toml"
    cfg.write_text(
        '[variants.gguf_f16]\nbackend = "llamacpp"\ngguf_quant = "F16"\nconcurrency = 1\n'
        '[variants.gguf_q4km]\nbackend = "llamacpp"\ngguf_quant = "Q4_K_M"\nconcurrency = 1\n'
    )
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        ["report", "--base", "gguf_f16", "--cand", "gguf_q4km", "--config", str(cfg)]
        + ["--out", str(out), "--runs-dir", str(tmp_path / "runs"), "--limit", "1"],
    )
    assert result.exit_code in (0, 1, 3), result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] in ("go", "no-go", "inconclusive")
    html = (out / "report.html").read_text()
    assert "gguf_q4km" in html
    for name in ("gguf_f16", "gguf_q4km"):
        header = read_header(tmp_path / "runs" / "smoke" / f"{name}.parquet")
        assert header is not None
        assert header.model.details["gguf_quant"] in ("F16", "Q4_K_M")
        perf = header.perf
        assert (perf.requests_per_s or 0) > 0 and perf.ttft_s.p50 is not None
        assert header.model.memory_estimate is not None
        assert header.model.memory_estimate.weights_bytes > 0
