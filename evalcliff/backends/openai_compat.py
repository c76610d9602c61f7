"""Any OpenAI-compatible endpoint (vLLM serve, TGI, SGLang, llama.cpp server, Ollama).

Unlike lm-eval's own API client, which aborts the whole run once its retries are spent,
a request that keeps failing becomes one `error` row and the run goes on:

- connection errors, timeouts, HTTP 429 and 5xx are retried `max_retries` times with
  exponential backoff (`retry_backoff_s` · 2^k, with jitter, capped at 30 s);
- other HTTP errors (4xx) are not retried;
- a failed request is never cached, so running the same command again retries it.

With `stream = true` each request is streamed, which measures time to first token and the
gaps between tokens (one SSE chunk is counted as one token; servers that batch tokens per
chunk make gaps look larger and counts smaller). Several `endpoints` share the load
round-robin. Per-request timings go to a JSONL file that the runner merges into results.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lm_eval.api.model import LM, hash_args

from evalcliff.config.variants import VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.errors import ERROR_PREFIX
from evalcliff.suites.items import Item

RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


class RequestFailed(Exception):
    """A request that failed for good (retries spent, or not retryable)."""


class OpenAICompatLM(LM):  # type: ignore[misc]
    """lm-eval LM over OpenAI-compatible `/completions` or `/chat/completions`."""

    def __init__(self, variant: VariantConfig, metrics_path: Path | None = None) -> None:
        super().__init__()
        if not variant.endpoints:
            raise EvalcliffError("openai backend: set `endpoints` (e.g. http://127.0.0.1:8000/v1)")
        self.v = variant
        self._next = itertools.cycle(variant.endpoints)
        self._lock = threading.Lock()
        self.metrics_path = metrics_path
        key = os.environ.get(variant.api_key_env, "") if variant.api_key_env else ""
        if variant.api_key_env and not key:
            raise EvalcliffError(
                f"openai backend: environment variable {variant.api_key_env} (api_key_env) is empty"
            )
        self.headers = {"Content-Type": "application/json"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    # -- chat support: lm-eval passes the rendered history back to generate_until
    @property
    def tokenizer_name(self) -> str:
        return f"openai-chat:{self.v.model}"

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return ""  # the server applies the model's template

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        return json.dumps(chat_history, ensure_ascii=False)

    def _payload(self, context: str, gen: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        until = [u for u in gen.get("until", []) if u][:4]  # the API takes at most 4 stops
        body: dict[str, Any] = {
            "model": self.v.model,
            "max_tokens": int(gen.get("max_gen_toks", 256)),
            "temperature": 0.0,
            "stream": self.v.stream,
        }
        if until:
            body["stop"] = until
        if self.v.prompting == "chat":
            body["messages"] = json.loads(context)
            return "chat/completions", body
        body["prompt"] = context
        return "completions", body

    def _once(self, path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        import requests

        with self._lock:
            base = next(self._next).rstrip("/")
        t0 = time.perf_counter()
        r = requests.post(
            f"{base}/{path}",
            json=body,
            headers=self.headers,
            timeout=(min(10.0, self.v.timeout_s), self.v.timeout_s),
            stream=self.v.stream,
        )
        if r.status_code != 200:
            err = f"HTTP {r.status_code}: {r.text[:200]}"
            if r.status_code in RETRYABLE:
                raise ConnectionError(err)
            raise RequestFailed(err)
        text, stamps, usage, finished = "", [], None, False
        if not self.v.stream:
            data = r.json()
            choice = data["choices"][0]
            text = choice.get("text") or (choice.get("message") or {}).get("content") or ""
            usage = data.get("usage")
        else:
            for line in r.iter_lines(decode_unicode=True):
                raw = line.decode() if isinstance(line, bytes) else str(line)
                if not raw.startswith("data:"):
                    continue
                chunk = raw[5:].strip()
                if chunk == "[DONE]":
                    finished = True
                    break
                data = json.loads(chunk)
                usage = data.get("usage") or usage
                if not data.get("choices"):
                    continue
                choice = data["choices"][0]
                finished = finished or bool(choice.get("finish_reason"))
                piece = choice.get("text") or (choice.get("delta") or {}).get("content") or ""
                if piece:
                    stamps.append(time.perf_counter())
                    text += piece
            if not finished:  # a dropped stream must not pass for a short answer
                raise ConnectionError("stream ended before [DONE]/finish_reason")
        end = time.perf_counter()
        n_out = (usage or {}).get("completion_tokens") or len(stamps) or None
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        return text, {
            "latency_s": end - t0,
            "ttft_s": (stamps[0] - t0) if stamps else None,
            "itl_s": gaps,
            "output_tokens": n_out,
        }

    def _with_retries(self, context: str, gen: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        import requests

        path, body = self._payload(context, gen)
        last = ""
        for attempt in range(self.v.max_retries + 1):
            try:
                text, m = self._once(path, body)
                m["attempts"] = attempt + 1
                return text, m
            except RequestFailed as exc:
                return ERROR_PREFIX + str(exc), {"attempts": attempt + 1}
            except (
                requests.RequestException,
                ConnectionError,
                json.JSONDecodeError,
                KeyError,
                IndexError,
            ) as exc:
                last = f"{exc.__class__.__name__}: {str(exc)[:200]}"
                if attempt < self.v.max_retries:
                    delay = min(30.0, self.v.retry_backoff_s * 2**attempt)
                    time.sleep(delay * (0.5 + random.random()))
        return ERROR_PREFIX + f"gave up after {self.v.max_retries + 1} attempts ({last})", {
            "attempts": self.v.max_retries + 1
        }

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        from tqdm import tqdm

        out: list[str] = [""] * len(requests)
        bar = tqdm(total=len(requests), disable=disable_tqdm, desc="requests")

        def one(k: int) -> None:
            context, gen = requests[k].args
            text, metrics = self._with_retries(context, gen)
            out[k] = text
            if not text.startswith(ERROR_PREFIX):
                self.cache_hook.add_partial("generate_until", requests[k].args, text)
            if self.metrics_path is not None:
                rec = {"hash": hash_args("generate_until", requests[k].args), **metrics}
                with self._lock, self.metrics_path.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
            bar.update(1)

        with ThreadPoolExecutor(max_workers=self.v.concurrency) as pool:
            list(pool.map(one, range(len(requests))))
        bar.close()
        return out

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise NotImplementedError("the openai backend only generates")

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
        raise NotImplementedError("the openai backend only generates")


def make_lm(variant: VariantConfig, items: list[Item]) -> tuple[Any, dict[str, Any]]:
    """An OpenAICompatLM; identity = endpoints + served model name."""
    lm = OpenAICompatLM(variant)
    return lm, {"endpoints": variant.endpoints, "model_name": variant.model}
