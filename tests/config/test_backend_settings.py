"""Backend-specific settings: vLLM parallelism, several endpoints, serve tables, GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalcliff.config.variants import load_variants
from evalcliff.errors import EvalcliffError

MULTI = """
[variants.big_fp16]
backend = "vllm"
model = "meta-llama/Llama-3.1-70B-Instruct"
dtype = "bfloat16"
tensor_parallel_size = 4        # one replica over 4 GPUs
data_parallel_size = 2          # two replicas, through Ray
gpu_memory_utilization = 0.85
max_model_len = 16384

[variants.big_fp8]
backend = "vllm"
model = "meta-llama/Llama-3.1-70B-Instruct"
quantization = "fp8"
tensor_parallel_size = 4

[variants.fleet_q4]
backend = "openai"
model = "llama-70b-awq"
endpoints = ["http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1", "http://10.0.0.3:8000/v1"]
concurrency = 64
api_key_env = "FLEET_KEY"

[variants.local_vllm]
backend = "openai"
model = "m"
serve = { command = "vllm serve m --port {port}", startup_timeout_s = 900 }

[variants.gguf_q4]
backend = "llamacpp"
gguf_quant = "Q4_K_M"
n_ctx = 2048
"""


def test_multi_gpu_ray_and_multi_endpoint_config(tmp_path: Path) -> None:
    p = tmp_path / "v.toml"
    p.write_text(MULTI)
    v = load_variants(p)
    assert (v["big_fp16"].tensor_parallel_size, v["big_fp16"].data_parallel_size) == (4, 2)
    assert v["big_fp16"].max_model_len == 16384
    assert v["big_fp8"].quantization == "fp8"
    assert len(v["fleet_q4"].endpoints) == 3 and v["fleet_q4"].concurrency == 64
    assert v["local_vllm"].serve is not None and v["local_vllm"].serve.startup_timeout_s == 900
    assert v["gguf_q4"].gguf_quant == "Q4_K_M" and v["gguf_q4"].model == "embedded"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ('backend = "hf"\ntensor_parallel_size = 2', "tensor_parallel_size.*backend vllm"),
        ('backend = "hf"\nendpoints = ["http://x/v1"]', "endpoints.*backend openai"),
        ('backend = "hf"\nquantization = "fp8"', "needs backend 'vllm'"),
        ('backend = "openai"\nmodel = "m"', "needs endpoints, or a serve table"),
        ('backend = "vllm"\ntensor_parallel_size = 0', "tensor_parallel_size"),
        ('backend = "vllm"\ngpu_memory_utilization = 1.5', "gpu_memory_utilization"),
        (
            'backend = "openai"\nmodel = "m"\nserve = { command = "x", helth = "/h" }',
            r"variants\.x\.serve\.helth",
        ),
        ('backend = "llamacpp"\nquantization = {bits = 4}', "gguf_quant, not quantization"),
        ('backend = "llamacpp"\nmodel = "m.gguf"\ngguf_quant = "Q8_0"', "gguf_quant applies"),
    ],
)
def test_settings_of_another_backend_are_errors(tmp_path: Path, body: str, match: str) -> None:
    p = tmp_path / "v.toml"
    p.write_text(f"[variants.x]\n{body}\n")
    with pytest.raises(EvalcliffError, match=match):
        load_variants(p)


def test_shipped_example_configs_are_valid() -> None:
    from evalcliff.config.variants import load_variants as load

    root = Path(__file__).resolve().parents[2] / "evalcliff" / "configs"
    gguf = load(root / "gguf.toml")
    assert {v.gguf_quant for v in gguf.values()} == {"F16", "Q8_0", "Q4_K_M"}
    multi = load(root / "multi-gpu.toml")
    assert multi["big_fp8"].data_parallel_size == 2 and multi["local_awq"].serve is not None
