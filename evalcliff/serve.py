"""Start a server per variant, wait until it is healthy, and always stop it.

A variant with a `serve` table (backend `openai`) or backend `llamacpp` is *served*: the
runner starts its server, points the variant's `endpoints` at it, runs, and stops the server
when the run ends, fails or is interrupted (Ctrl-C). The server runs in its own process
group, so stopping it also stops anything it spawned (SIGTERM, then SIGKILL after
`stop_timeout_s`); on Linux it is also told to exit if evalcliff itself dies.

`evalcliff serve` starts the servers alone and keeps them up until Ctrl-C, for running
`evalcliff run` against them from elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalcliff.config.variants import LlamaCppVariant, OpenAIVariant, ServeConfig, VariantConfig
from evalcliff.errors import EvalcliffError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def render_command(serve: ServeConfig, port: int, model: str) -> list[str]:
    """The server's argv: the template with `{port}`, `{host}` and `{model}` filled in."""
    parts = shlex.split(serve.command) if isinstance(serve.command, str) else list(serve.command)
    if not parts:
        raise EvalcliffError("serve.command is empty")
    try:
        return [p.format(port=port, host=serve.host, model=model) for p in parts]
    except (KeyError, IndexError) as exc:
        raise EvalcliffError(
            f"serve.command: unknown placeholder {exc} (use {{port}}, {{host}}, {{model}})"
        ) from None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _healthy(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _stop(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def running_server(
    name: str, serve: ServeConfig, model: str, log_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `serve.command`, wait for health, yield (base URL .../v1, process); stop it after.

    Raises EvalcliffError with the log's last lines if the server exits or is not healthy
    within `serve.startup_timeout_s`.
    """
    port = serve.port or free_port(serve.host)
    argv = render_command(serve, port, model)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    base = f"http://{serve.host}:{port}"
    with log_path.open("ab") as log:
        try:
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **serve.env},
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - setsid + death signal only
            )
        except OSError as exc:
            raise EvalcliffError(
                f"variant {name!r}: cannot start server {argv[0]!r}: {exc}"
            ) from None
    try:
        deadline = time.monotonic() + serve.startup_timeout_s
        while not _healthy(base + serve.health_path):
            if proc.poll() is not None:
                raise EvalcliffError(
                    f"variant {name!r}: server exited with code {proc.returncode} before it "
                    f"was healthy: {_tail(log_path)} (log: {log_path})"
                )
            if time.monotonic() > deadline:
                raise EvalcliffError(
                    f"variant {name!r}: server not healthy at {base + serve.health_path} after "
                    f"{serve.startup_timeout_s:.0f} s (serve.startup_timeout_s); log: {log_path}"
                )
            time.sleep(0.25)
        yield base + "/v1", proc
    finally:
        _stop(proc, serve.stop_timeout_s)


def _tail(path: Path, n: int = 3) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-n:])


def is_served(variant: VariantConfig) -> bool:
    """Whether running this variant means starting a server first."""
    return isinstance(variant, LlamaCppVariant) or (
        isinstance(variant, OpenAIVariant) and variant.serve is not None
    )


@contextlib.contextmanager
def served(
    name: str, variant: VariantConfig, log_dir: Path
) -> Iterator[tuple[VariantConfig, dict[str, Any]]]:
    """Yield (variant to run, extra model identity), with its server up if it needs one.

    For a served variant the yielded copy is an `openai` variant whose `endpoints` point at
    the server; for any other it is `variant` itself and the identity is empty.
    """
    if not is_served(variant):
        yield variant, {}
        return
    identity: dict[str, Any] = {}
    if isinstance(variant, LlamaCppVariant):
        from evalcliff.backends.llamacpp import prepare

        serve, model_name, identity = prepare(variant)
    else:
        assert isinstance(variant, OpenAIVariant) and variant.serve is not None
        serve, model_name = variant.serve, variant.model
    with running_server(name, serve, model_name, log_dir / f"{name}.server.log") as (url, _):
        api: OpenAIVariant
        if isinstance(variant, OpenAIVariant):
            api = variant.model_copy(update={"endpoints": [url], "serve": None})
        else:
            # the settings a llamacpp variant shares with the openai client that talks to it
            keep = ["timeout_s", "max_retries", "retry_backoff_s", "stream", "seed", "prompting"]
            keep += ["system_prompt", "concurrency", "batch_size"]
            api = OpenAIVariant(
                backend="openai",
                model=model_name,
                endpoints=[url],
                **{k: getattr(variant, k) for k in keep},
            )
        identity["server_command"] = (
            serve.command if isinstance(serve.command, str) else shlex.join(serve.command)
        )
        yield api, identity
