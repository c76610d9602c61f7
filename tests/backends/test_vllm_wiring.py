"""The vllm backend's wiring, with lm-eval's VLLM replaced by a recorder (vLLM needs CUDA).

The real engine runs in `test_vllm_gpu_smoke` (skipped unless vllm is importable) and in
`python -m evalcliff.backends.vllm_smoke` on a GPU machine.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from lm_eval.api.model import LM

from evalcliff.backends import vllm as vllm_backend
from evalcliff.config.variants import load_variants
from evalcliff.errors import EvalcliffError
from evalcliff.results import read_header, read_results
from evalcliff.runner import run_variant
from evalcliff.suites.spec import load_suite

CALLS: list[dict[str, Any]] = []


class RecordingVLLM(LM):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        CALLS.append(kwargs)

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        return ["1" for _ in requests]

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise NotImplementedError

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise NotImplementedError


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    CALLS.clear()
    mod = types.ModuleType("lm_eval.models.vllm_causallms")
    mod.VLLM = RecordingVLLM  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lm_eval.models.vllm_causallms", mod)
    monkeypatch.setattr(vllm_backend, "find_spec", lambda name: object())
    monkeypatch.setattr(vllm_backend, "engine_version", lambda: "0.0-test")
    return CALLS


def _variants(tmp_path: Path) -> dict[str, Any]:
    p = tmp_path / "v.toml"
    p.write_text(
        '[variants.tp]\nbackend = "vllm"\nmodel = "org/some-model"\nquantization = "fp8"\n'
        "tensor_parallel_size = 2\ndata_parallel_size = 3\ngpu_memory_utilization = 0.7\n"
        "max_model_len = 4096\nseed = 11\n"
        '[variants.rtn]\nbackend = "vllm"\nmodel = "embedded"\ndtype = "float16"\n'
        "quantization = {bits = 4, group_size = 32}\n"
    )
    return load_variants(p)


def test_settings_reach_lm_evals_vllm(tmp_path: Path, fake_vllm: list[dict[str, Any]]) -> None:
    v = _variants(tmp_path)
    kwargs, identity = vllm_backend.vllm_kwargs(v["tp"])
    assert kwargs["pretrained"] == "org/some-model"
    assert kwargs["quantization"] == "fp8"
    assert (kwargs["tensor_parallel_size"], kwargs["data_parallel_size"]) == (2, 3)
    assert kwargs["gpu_memory_utilization"] == 0.7 and kwargs["max_model_len"] == 4096
    assert kwargs["seed"] == 11 and kwargs["batch_size"] == "auto" and kwargs["dtype"] == "auto"
    assert identity["vllm_quantization"] == "fp8"


def test_rtn_variant_serves_the_materialized_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_vllm: list[dict[str, Any]]
) -> None:
    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    kwargs, identity = vllm_backend.vllm_kwargs(_variants(tmp_path)["rtn"])
    assert Path(kwargs["pretrained"], "variant.json").exists()
    assert identity["quantization"]["bits"] == 4 and kwargs["dtype"] == "float16"
    assert "quantization" not in kwargs  # dequantized weights: nothing for vLLM to do


def test_run_through_the_vllm_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_vllm: list[dict[str, Any]]
) -> None:
    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "tp.parquet"
    run_variant("tp", _variants(tmp_path)["tp"], load_suite("smoke"), out, limit=1)
    assert len(fake_vllm) == 1 and fake_vllm[0]["tensor_parallel_size"] == 2
    header = read_header(out)
    assert header is not None and len(read_results(out)) == header.n_items
    assert header.model.details["engine"] == "vllm"


def test_missing_vllm_is_one_actionable_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vllm_backend, "find_spec", lambda name: None)
    with pytest.raises(EvalcliffError, match=r"pip install 'evalcliff\[vllm\]'"):
        vllm_backend.make_lm(_variants(tmp_path)["tp"], [])


@pytest.mark.gpu
def test_vllm_gpu_smoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("vllm", reason="vLLM is a GPU-only extra: pip install 'evalcliff[vllm]'")
    from evalcliff.backends.vllm_smoke import main

    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    assert main(["--out", str(tmp_path / "report"), "--limit", "8"]) in (0, 1, 3)
