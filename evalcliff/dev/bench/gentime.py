"""Run `evalcliff` or the bare loop with the time of the model's `generate` counted.

`python gentime.py OUT.json evalcliff ARGS...` runs `evalcliff ARGS...`;
`python gentime.py OUT.json bare ARGS...` runs `bare.py ARGS...` (same directory). Either way
every call of transformers' `GenerationMixin.generate` is timed with the calling thread's CPU
clock and with the wall clock, and `{"generate_cpu_s": ..., "generate_wall_s": ...,
"generate_calls": ...}` is written to OUT.json as the process ends. Both sides get the same
wrapper, so the harness benchmark can tell the engine's own work (identical on both sides:
the same prompts, outputs and model) from everything around it, and a machine that ran
slower during one run shows up in `generate` on both.
Run by path (not `-m`), so that nothing else of evalcliff is imported before the command;
its own folder leaves `sys.path` first (its `vllm.py` would shadow the package).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from typing import Any


def _install(out_path: str) -> None:
    import transformers.generation.utils as gen_utils

    original = gen_utils.GenerationMixin.generate
    spent = {"cpu": 0.0, "wall": 0.0, "calls": 0}

    def generate(self: Any, *args: Any, **kwargs: Any) -> Any:
        start, wall = time.thread_time(), time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent["cpu"] += time.thread_time() - start
            spent["wall"] += time.perf_counter() - wall
            spent["calls"] += 1

    gen_utils.GenerationMixin.generate = generate  # type: ignore[method-assign]

    def write() -> None:
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "generate_cpu_s": spent["cpu"],
                    "generate_wall_s": spent["wall"],
                    "generate_calls": spent["calls"],
                },
                f,
            )

    atexit.register(write)  # evalcliff's quick exit runs atexit callbacks too


def main(argv: list[str]) -> int:
    """`argv`: OUT.json, then `evalcliff ARGS...` or `bare ARGS...`."""
    out_path, which, *rest = argv
    _install(out_path)
    if which == "bare":
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "bare", os.path.join(os.path.dirname(os.path.abspath(__file__)), "bare.py")
        )
        assert spec is not None and spec.loader is not None
        bare = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bare)
        return int(bare.main(rest))
    if which != "evalcliff":
        raise SystemExit(f"gentime: unknown command {which!r} (evalcliff or bare)")
    from evalcliff.cli.main import main as cli_main

    sys.argv = ["evalcliff", *rest]
    cli_main()  # exits with the command's code
    return 0


if __name__ == "__main__":
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    sys.exit(main(sys.argv[1:]))
