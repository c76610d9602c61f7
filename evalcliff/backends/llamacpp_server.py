"""llama.cpp's OpenAI-compatible server (llama-cpp-python), as evalcliff starts it.

    python -m evalcliff.backends.llamacpp_server --model FILE.gguf --port 8080 [server args]

The same as `python -m llama_cpp.server`, except that weight repacking into extra buffer
types is off (`use_extra_bufts = false`): with it on, llama.cpp 0.3.x crashed decoding
quantized GGUFs on CPUs with AVX-512/AMX. Needs `pip install 'evalcliff[gguf]'`.
"""

from __future__ import annotations

import sys
from typing import Any


def disable_extra_bufts() -> None:
    """Make every model llama-cpp-python loads from now on skip weight repacking."""
    import llama_cpp.llama_cpp as capi

    default_params = capi.llama_model_default_params
    if getattr(default_params, "_evalcliff", False):
        return

    def params() -> Any:
        p = default_params()
        p.use_extra_bufts = False
        return p

    params._evalcliff = True  # type: ignore[attr-defined]
    capi.llama_model_default_params = params


def main() -> None:
    try:
        disable_extra_bufts()
    except ImportError:
        sys.exit("llama.cpp server needs the gguf extra: pip install 'evalcliff[gguf]'")
    from llama_cpp.server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
