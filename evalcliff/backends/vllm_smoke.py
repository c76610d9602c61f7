"""GPU smoke check of the vllm backend: the embedded model, fp16 vs int4 RTN, through vLLM.

    pip install -e '.[vllm]'            # on a CUDA machine
    python -m evalcliff.backends.vllm_smoke --out reports/vllm-smoke [--quantization fp8]

Writes a variants file with two `vllm` variants of the embedded model (fp16, and either
int4 RTN g128 or vLLM's own `--quantization` method), runs `evalcliff report` on the smoke
suite and returns its exit code. vLLM cannot be installed on CPU-only machines, so CI checks
the wiring with a recorder instead (tests/backends/test_vllm_wiring.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def variants_toml(quantization: str | None, tp: int) -> str:
    """The two variants compared by the smoke check."""
    cand = (
        f'quantization = "{quantization}"'
        if quantization
        else ("quantization = { bits = 4, group_size = 128 }")
    )
    common = (
        f'backend = "vllm"\nmodel = "embedded"\ndtype = "float16"\ntensor_parallel_size = {tp}\n'
    )
    common += "gpu_memory_utilization = 0.3\nmax_model_len = 1024\n"
    return f"[variants.vllm_fp16]\n{common}\n[variants.vllm_cand]\n{common}{cand}\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default="reports/vllm-smoke")
    ap.add_argument("--quantization", default=None, help="vLLM method (e.g. fp8) instead of RTN")
    ap.add_argument("--tensor-parallel-size", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="first N items per slice")
    args = ap.parse_args(argv)

    from click.testing import CliRunner

    from evalcliff.cli.main import cli

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "vllm.toml"
        cfg.write_text(variants_toml(args.quantization, args.tensor_parallel_size))
        cmd = ["report", "--base", "vllm_fp16", "--cand", "vllm_cand", "--config", str(cfg)]
        cmd += ["--out", args.out, "--jobs", "1", "--no-divergence"]
        cmd += ["--limit", str(args.limit)] if args.limit else []
        result = CliRunner().invoke(cli, cmd, catch_exceptions=False)
        print(result.output)
        return int(result.exit_code)


if __name__ == "__main__":
    sys.exit(main())
