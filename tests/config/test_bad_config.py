"""Malformed variant configs: each stops before any work with one line naming file and field."""
# ruff: noqa: E501 - one malformed input per table row reads best unwrapped

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.config.variants import load_variants, settings_from_defaults
from evalcliff.errors import EvalcliffError

V = "[variants.x]\n"
OPENAI = V + 'backend = "openai"\nmodel = "m"\nendpoints = ["http://127.0.0.1:8000/v1"]\n'

# (id, file name, content, text the one-line message must contain)
CASES: list[tuple[str, str, str | bytes, str]] = [
    # file level: encoding, syntax, duplicate keys, shape
    ("toml-not-utf8", "v.toml", b'[variants.x]\nmodel = "caf\xe9"\n', "not UTF-8 (byte 0xe9"),
    ("yaml-not-utf8", "v.yaml", b"variants:\n  x: {model: caf\xe9}\n", "not UTF-8 (byte 0xe9"),
    ("latin1-name", "v.toml", b'[variants."\xff"]\n', "line 1); save it as UTF-8"),
    ("toml-syntax", "v.toml", "[variants.x\n", "line 1"),
    ("toml-bad-value", "v.toml", V + "seed = \n", "line 2"),
    ("toml-dup-key", "v.toml", V + "seed = 1\nseed = 2\n", "line 3"),
    ("toml-dup-table", "v.toml", V + "seed = 1\n[variants.x]\n", "line 3"),
    ("yaml-syntax", "v.yaml", "variants:\n  x: {backend: hf\n", "line 3"),
    ("yaml-tab", "v.yaml", "variants:\n\tx: {}\n", "line 2"),
    ("yaml-dup-variant", "v.yaml", "variants:\n  x: {}\n  x: {seed: 1}\n", "line 3: duplicate key 'x'"),
    ("yaml-dup-setting", "v.yaml", "variants:\n  x:\n    seed: 1\n    seed: 2\n", "line 4: duplicate key 'seed'"),
    ("yaml-dup-nested", "v.yaml", "variants:\n  x:\n    quantization: {bits: 4, bits: 8}\n", "duplicate key 'bits'"),
    ("yaml-dup-top", "v.yaml", "variants: {}\nvariants: {}\n", "line 2: duplicate key 'variants'"),
    ("top-level-table", "v.toml", '[models.x]\nbackend = "hf"\n', "top-level table 'variants'"),
    ("top-level-extra", "v.toml", V + '[other]\na = 1\n', "top-level table 'variants'"),
    ("yaml-list", "v.yaml", "- x\n", "top-level table 'variants'"),
    ("yaml-empty", "v.yaml", "", "top-level table 'variants'"),
    ("no-variants", "v.toml", "variants = {}\n", "variants: the table is empty"),
    ("body-not-table", "v.toml", "[variants]\nx = 3\n", "variants.x: expected a table"),
    ("suffix", "v.json", "{}", "must end in .toml, .yaml or .yml"),
    # variant names
    ("empty-name", "v.toml", '[variants.""]\n', "variants: a variant name must be a non-empty string"),
    ("blank-name", "v.toml", '[variants."  "]\n', "non-empty string"),
    ("tab-name", "v.toml", '[variants."a\\tb"]\n', "contains control characters"),
    ("newline-name", "v.yaml", 'variants:\n  "a\\nb": {}\n', "contains control characters"),
    ("escape-name", "v.toml", '[variants."a\\u001bb"]\n', "contains control characters"),
    ("slash-name", "v.toml", '[variants."../x"]\n', "must not contain '/'"),
    ("null-name", "v.yaml", "variants:\n  null: {}\n", "non-empty string"),
    ("int-name", "v.yaml", "variants:\n  1: {}\n", "non-empty string"),
    # backends and unknown settings
    ("unknown-key", "v.toml", V + "temprature = 0.1\n", "variants.x.temprature: unknown setting"),
    ("did-you-mean", "v.toml", V + "treads = 2\n", "did you mean 'threads'"),
    ("unknown-backend", "v.toml", V + 'backend = "tgi"\n', "variants.x.backend: unknown backend 'tgi'"),
    ("backend-number", "v.toml", V + "backend = 3\n", "variants.x.backend: unknown backend 3"),
    ("tp-on-hf", "v.toml", V + "tensor_parallel_size = 2\n", "variants.x: 'tensor_parallel_size' is a setting of backend vllm"),
    ("endpoints-on-hf", "v.toml", V + 'endpoints = ["http://h/v1"]\n', "'endpoints' is a setting of backend openai"),
    ("error-rate-on-hf", "v.toml", V + "error_rate = 0.1\n", "'error_rate' is a setting of backend mock"),
    ("gguf-on-vllm", "v.toml", V + 'backend = "vllm"\ngguf_quant = "Q4_K_M"\n', "'gguf_quant' is a setting of backend llamacpp"),
    ("quant-on-mock", "v.toml", V + 'backend = "mock"\nquantization = {bits = 4}\n', "'quantization' is a setting of backend hf/vllm"),
    ("serve-on-vllm", "v.toml", V + 'backend = "vllm"\nserve = {command = "x"}\n', "'serve' is a setting of backend openai"),
    ("threads-on-openai", "v.toml", OPENAI + "threads = 2\n", "'threads' is a setting of backend hf/llamacpp"),
    ("quant-on-llamacpp", "v.toml", V + 'backend = "llamacpp"\nquantization = {bits = 4}\n', "gguf_quant, not quantization"),
    ("method-on-hf", "v.toml", V + 'quantization = "fp8"\n', "variants.x.quantization: quantization = 'fp8' (a method name) needs backend 'vllm'"),
    # quantization
    ("group-size-zero", "v.toml", V + "quantization = {bits = 4, group_size = 0}\n", "variants.x.quantization.group_size: group_size must be a positive"),
    ("group-size-negative", "v.toml", V + "quantization = {bits = 4, group_size = -8}\n", "variants.x.quantization.group_size"),
    ("bits-9", "v.toml", V + "quantization = {bits = 9}\n", "variants.x.quantization.bits"),
    ("bits-1", "v.toml", V + "quantization = {bits = 1}\n", "variants.x.quantization.bits"),
    ("bits-0", "v.toml", V + "quantization = {bits = 0}\n", "variants.x.quantization.bits"),
    ("bits-bool", "v.toml", V + "quantization = {bits = true}\n", "variants.x.quantization.bits"),
    ("bits-text", "v.toml", V + 'quantization = {bits = "four"}\n', "variants.x.quantization.bits"),
    ("quant-typo", "v.toml", V + "quantization = {bits = 4, groupsize = 64}\n", "variants.x.quantization.groupsize"),
    ("quant-dtype", "v.toml", V + 'quantization = {bits = 4, dtype = "int4"}\n', "variants.x.quantization.dtype"),
    ("vllm-method-name", "v.toml", V + 'backend = "vllm"\nquantization = "fp 8"\n', "variants.x.quantization"),
    ("vllm-group-size", "v.toml", V + 'backend = "vllm"\nquantization = {bits = 4, group_size = 0}\n', "variants.x.quantization.group_size"),
    # openai endpoints and serving
    ("not-a-url", "v.toml", V + 'backend = "openai"\nendpoints = ["not a url"]\n', "variants.x.endpoints: 'not a url' is not an http(s) URL"),
    ("ftp-url", "v.toml", V + 'backend = "openai"\nendpoints = ["ftp://h/v1"]\n', "variants.x.endpoints"),
    ("no-host", "v.toml", V + 'backend = "openai"\nendpoints = ["http://"]\n', "variants.x.endpoints"),
    ("url-space", "v.toml", V + 'backend = "openai"\nendpoints = ["http://h /v1"]\n', "variants.x.endpoints"),
    ("endpoints-string", "v.toml", V + 'backend = "openai"\nendpoints = "http://h/v1"\n', "variants.x.endpoints"),
    ("no-endpoints", "v.toml", V + 'backend = "openai"\nmodel = "m"\n', "variants.x: backend 'openai' needs endpoints"),
    ("api-key-env", "v.toml", OPENAI + 'api_key_env = "sk-live-123"\n', "variants.x.api_key_env: not an environment variable name"),
    ("concurrency-0", "v.toml", OPENAI + "concurrency = 0\n", "variants.x.concurrency"),
    ("timeout-negative", "v.toml", OPENAI + "timeout_s = -1\n", "variants.x.timeout_s"),
    ("timeout-nan", "v.toml", OPENAI + "timeout_s = nan\n", "variants.x.timeout_s"),
    ("retries-100", "v.toml", OPENAI + "max_retries = 100\n", "variants.x.max_retries"),
    ("serve-typo", "v.toml", V + 'backend = "openai"\nserve = { command = "x", helth = "/h" }\n', "variants.x.serve.helth"),
    ("serve-port", "v.toml", V + 'backend = "openai"\nserve = { command = "x", port = 70000 }\n', "variants.x.serve.port"),
    ("serve-empty-command", "v.toml", V + 'backend = "openai"\nserve = { command = " " }\n', "variants.x.serve.command"),
    ("serve-health-path", "v.toml", V + 'backend = "openai"\nserve = { command = "x", health_path = "health" }\n', "variants.x.serve.health_path"),
    ("serve-env-name", "v.toml", V + 'backend = "openai"\nserve = { command = "x", env = { "A B" = "1" } }\n', "variants.x.serve.env"),
    # common and per-backend ranges
    ("empty-model", "v.toml", V + 'model = ""\n', "variants.x.model"),
    ("batch-size-0", "v.toml", V + "batch_size = 0\n", "variants.x.batch_size"),
    ("prompting", "v.toml", V + 'prompting = "instruct"\n', "variants.x.prompting"),
    ("dtype", "v.toml", V + 'dtype = "int8"\n', "variants.x.dtype"),
    ("seed-text", "v.yaml", "variants:\n  x: {seed: abc}\n", "variants.x.seed"),
    ("gpu-mem", "v.toml", V + 'backend = "vllm"\ngpu_memory_utilization = 1.5\n', "variants.x.gpu_memory_utilization"),
    ("tp-zero", "v.toml", V + 'backend = "vllm"\ntensor_parallel_size = 0\n', "variants.x.tensor_parallel_size"),
    ("n-ctx", "v.toml", V + 'backend = "llamacpp"\nn_ctx = 8\n', "variants.x.n_ctx"),
    ("gguf-quant-path", "v.toml", V + 'backend = "llamacpp"\nmodel = "m.gguf"\ngguf_quant = "Q8_0"\n', "variants.x: gguf_quant applies"),
    ("gguf-quant-chars", "v.toml", V + 'backend = "llamacpp"\ngguf_quant = "Q4 K"\n', "variants.x.gguf_quant"),
    ("error-rate-2", "v.yaml", "variants:\n  x: {backend: mock, error_rate: 2}\n", "variants.x.error_rate"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_config_is_one_line_naming_file_and_field(
    tmp_path: Path, name: str, content: str | bytes, expect: str
) -> None:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    with pytest.raises(EvalcliffError) as info:
        load_variants(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}:"), msg
    assert expect in msg, msg
    assert "\n" not in msg and "Traceback" not in msg, msg
    assert "sk-live-123" not in msg  # a key put in the wrong place is never echoed


def test_missing_and_directory_configs(tmp_path: Path) -> None:
    with pytest.raises(EvalcliffError, match=r"v\.toml: config file not found$"):
        load_variants(tmp_path / "v.toml")
    (tmp_path / "d.toml").mkdir()
    with pytest.raises(EvalcliffError, match="is a directory"):
        load_variants(tmp_path / "d.toml")


def test_settings_from_defaults_names_what_the_config_left_out(tmp_path: Path) -> None:
    p = tmp_path / "v.toml"
    p.write_text(V + "quantization = {bits = 4}\nseed = 3\n")
    v = load_variants(p)["x"]
    defaults = settings_from_defaults(v)
    assert "backend" in defaults and "model" in defaults and "seed" not in defaults
    assert "quantization.group_size" in defaults and "quantization.bits" not in defaults
    # a dumped-and-reloaded config validates to the same variant
    from evalcliff.schema.variant import parse_variant

    assert parse_variant(v.model_dump()) == v


def test_config_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    p = tmp_path / "v.yaml"
    p.write_text("\ufeffvariants:\n  x: {backend: mock, error_rate: 0.5}\n", encoding="utf-8")
    assert load_variants(p)["x"].backend == "mock"


@pytest.mark.parametrize(
    "content",
    [
        V + "tensor_parallel_size = 2\n",
        V + 'backend = "openai"\nendpoints = ["not a url"]\n',
        b"[variants.x]\nmodel = '\xff'\n",
    ],
    ids=["other-backend", "bad-url", "not-utf8"],
)
def test_cli_run_with_a_bad_config_exits_2_with_one_line(
    tmp_path: Path, content: str | bytes
) -> None:
    p = tmp_path / "bad.toml"
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content)
    out = tmp_path / "o.parquet"
    result = CliRunner().invoke(cli, ["run", "x", "--config", str(p), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"evalcliff: error: {p}:"), lines[0]
    assert not out.exists()
