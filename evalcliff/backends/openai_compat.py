"""Any OpenAI-compatible endpoint (vLLM serve, TGI, SGLang, llama.cpp server, Ollama).

Unlike lm-eval's own API client, which aborts the whole run once its retries are spent,
a request that keeps failing becomes one `error` row and the run goes on:

- each attempt has a total deadline of `timeout_s`: connecting, the headers and the whole
  body or stream, so a server that trickles keep-alives or tokens forever is cut there;
- connection errors, timeouts, HTTP 408/409/425/429/5xx, malformed answers (not JSON,
  no `choices`, empty `choices`, a choice without a text string, bad UTF-8, a stream cut
  before `[DONE]`/`finish_reason`) and unfinished ones (a `finish_reason` other than the
  model's own end or the token limit, such as "abort" or "content_filter"; "length" after
  fewer `usage.completion_tokens` than `max_tokens`) are retried `max_retries` times with
  exponential backoff (`retry_backoff_s` · 2^k, with jitter, capped at 30 s), waiting at
  least the server's `Retry-After` (capped at 60 s);
- other HTTP errors (4xx) are not retried;
- a failed request is never cached, so running the same command again retries it.

The server is sent at most 4 stop strings (the API's limit), and every answer is cut at each
of the request's `until` strings as lm-eval's HFLM cuts it, so a slice with more stops scores
the same as on the hf backend.

With `stream = true` each request is streamed, which measures time to first token and the
gaps between tokens (one SSE chunk is counted as one token; servers that batch tokens per
chunk make gaps look larger and counts smaller). Several `endpoints` share the load
round-robin. Per-request timings go to a JSONL file that the runner merges into results,
with what answered: the response's `model` and `system_fingerprint` (None when absent).
`server_info()` reports what the server said about itself (model ids, fingerprints, version
headers) for the run header.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from lm_eval.api.model import LM, hash_args
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

from evalcliff.config.variants import OpenAIVariant, VariantConfig
from evalcliff.errors import ERROR_PREFIX, EvalcliffError
from evalcliff.schema.run import ServerInfo
from evalcliff.suites.items import Item

RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}
BACKOFF_CAP_S = 30.0
RETRY_AFTER_CAP_S = 60.0  # a longer Retry-After is shortened to this
MAX_BODY_BYTES = 64 << 20  # an answer larger than this is a broken server
MAX_STOPS = 4  # the OpenAI API takes at most 4 stop strings; the rest are applied here
# finish_reasons that mean the model ended the answer itself or hit max_tokens (vLLM, SGLang,
# llama.cpp and Ollama say "stop"/"length"; TGI "eos_token"/"stop_sequence"/"length"); any
# other ("abort", "content_filter", "error", "tool_calls", ...) is an answer cut short
FINISHED = {"stop", "length", "eos", "eos_token", "stop_sequence"}
# requests' errors that no retry can fix
_FATAL_REQUEST_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
)


class RequestFailed(Exception):
    """A request that failed for good (retries spent, or not retryable)."""


class Retryable(Exception):
    """One failed attempt worth another try; `retry_after` is the server's wait in seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


# -- transport: a hard deadline per attempt ---------------------------------------------
# A read timeout bounds each recv, not the attempt: a server that sends a byte every few
# seconds never trips it. So every socket an attempt opens is registered with a watchdog
# that shuts it down at the deadline, which wakes any read blocked on it.

_current = threading.local()


class _Watchdog:
    """Shuts down the sockets opened in its `with` block (in this thread) at `deadline`."""

    def __init__(self, deadline: float) -> None:
        self.fired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
            if self.fired:
                _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._socks:
                _shutdown(sock)

    def __enter__(self) -> _Watchdog:
        _current.watchdog = self
        self._timer.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._timer.cancel()
        _current.watchdog = None


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _watched(sock: socket.socket) -> socket.socket:
    watchdog = getattr(_current, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(sock)
    return sock


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _watched(super()._new_conn())


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _watched(super()._new_conn())


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(*args, **kwargs)
        if isinstance(manager, urllib3.ProxyManager):  # SOCKS managers keep their own pools
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def check_endpoint(url: str) -> None:
    """Raise EvalcliffError unless `url` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in url):
        raise EvalcliffError(
            f"openai backend: endpoint {url!r} is not an http(s) URL "
            "(e.g. http://127.0.0.1:8000/v1)"
        )


def retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); None if
    absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


# -- response shapes ---------------------------------------------------------------------


def _json(raw: bytes | str, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except ValueError as exc:  # also bad UTF-8
        raise Retryable(f"{what} is not JSON ({str(exc)[:80]}): {_snippet(raw)}") from exc
    if not isinstance(doc, dict):
        raise Retryable(f"{what} is a JSON {type(doc).__name__}, not an object")
    if doc.get("error"):
        raise Retryable(f"server error in {what}: {str(doc['error'])[:200]}")
    return doc


def _first_choice(doc: dict[str, Any], *, required: bool) -> dict[str, Any] | None:
    """choices[0], validated; None when a stream chunk carries no choices (usage chunks)."""
    choices = doc.get("choices")
    if choices is None or choices == []:
        if required:
            raise Retryable("no `choices` key" if choices is None else "empty `choices`")
        return None
    if not isinstance(choices, list):
        raise Retryable(f"`choices` is a {type(choices).__name__}, not a list")
    if not isinstance(choices[0], dict):
        raise Retryable(f"a choice is a {type(choices[0]).__name__}, not an object")
    return choices[0]


def _answer_text(choice: dict[str, Any]) -> str:
    text = choice.get("text")
    if isinstance(text, str):
        return text
    message = choice.get("message")
    if isinstance(message, dict) and isinstance(message.get("content"), str):
        return str(message["content"])
    raise Retryable(f"the choice has no `text` or `message.content` string: {_snippet(choice)}")


def _piece_text(choice: dict[str, Any]) -> str:
    """The text a stream chunk's choice adds ("" for role-only and final chunks)."""
    if "text" in choice:
        piece = choice["text"]
    elif isinstance(choice.get("delta"), dict):
        piece = choice["delta"].get("content")
    elif choice.get("finish_reason"):
        piece = None
    else:
        raise Retryable(f"a stream chunk's choice has no `text` or `delta`: {_snippet(choice)}")
    if piece is not None and not isinstance(piece, str):
        raise Retryable(f"a stream chunk's text is a {type(piece).__name__}, not a string")
    return piece or ""


def _check_finish(
    finish: object, text: str, usage: object, max_tokens: int, *, stream: bool
) -> None:
    """Raise Retryable unless the answer ended as a finished one: a `finish_reason` in
    FINISHED (for "length", not before `max_tokens` by the server's own count), or none
    with some text."""
    if finish is None:
        if not text:
            what = "the stream ended with" if stream else "an answer with"
            raise Retryable(f"{what} no text and no finish_reason")
        return
    if not isinstance(finish, str) or finish not in FINISHED:
        raise Retryable(f"finish_reason {finish!r}: the answer was not finished")
    n = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if finish == "length" and isinstance(n, int) and not isinstance(n, bool) and n < max_tokens:
        raise Retryable(f"finish_reason 'length' after {n} of {max_tokens} tokens")


def _finish_reason(choice: dict[str, Any]) -> object:
    """The choice's `finish_reason`; None when absent, null or "" (servers that send "" in
    every chunk but the last mean none)."""
    finish = choice.get("finish_reason")
    return None if finish == "" else finish


def _stops(gen: dict[str, Any]) -> list[str]:
    """The request's non-empty stop strings (lm-eval allows one string for a list)."""
    until = gen.get("until") or []
    return [u for u in ([until] if isinstance(until, str) else until) if u]


def cut_at_stops(text: str, until: list[str]) -> str:
    """`text` up to the first occurrence of each stop string in turn, as lm-eval's HFLM cuts
    a generation (`for term in until: s = s.split(term)[0]`)."""
    for term in until:
        if term:
            text = text.split(term)[0]
    return text


def _str_or_none(x: object) -> str | None:
    return x if isinstance(x, str) and x else None


def _snippet(x: object) -> str:
    if isinstance(x, bytes):
        x = x.decode("utf-8", "replace")
    return (x if isinstance(x, str) else json.dumps(x, default=str))[:200]


def _body_chunks(r: Any, deadline: float, limit: int = MAX_BODY_BYTES) -> Iterator[bytes]:
    """The body as it arrives (read1: whatever is there, not a full buffer), stopping at
    `deadline` and raising past `limit` bytes."""
    read1 = getattr(r.raw, "read1", None)  # urllib3 >= 2.3
    size = 0
    while True:
        if time.monotonic() >= deadline:
            raise Retryable("deadline passed while reading the body")
        data = read1(65536, decode_content=True) if read1 else r.raw.read(512, decode_content=True)
        if not data:
            return
        size += len(data)
        if size > limit:
            raise Retryable(f"the body is larger than {limit} bytes")
        yield data


def _head(r: Any, deadline: float, size: int = 2048) -> bytes:
    """The first `size` bytes of an error body (for the message)."""
    head = b""
    for data in _body_chunks(r, deadline):
        head += data
        if len(head) >= size:
            break
    return head[:size]


def _sse_data(chunks: Iterator[bytes]) -> Iterator[str]:
    """The `data` of each server-sent event; comments (`: ping`) and other fields skipped."""
    buf = b""
    data: list[str] = []

    def lines() -> Iterator[bytes]:
        nonlocal buf
        for chunk in chunks:
            *complete, buf = (buf + chunk).split(b"\n")
            yield from complete
        if buf:  # a last line without its newline
            yield buf
        yield b""

    for raw in lines():
        try:
            line = raw.rstrip(b"\r").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Retryable(f"the event stream is not UTF-8: {_snippet(raw)}") from exc
        if not line:
            if data:
                yield "\n".join(data)
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


class OpenAICompatLM(LM):  # type: ignore[misc]
    """lm-eval LM over OpenAI-compatible `/completions` or `/chat/completions`."""

    def __init__(self, variant: OpenAIVariant, metrics_path: Path | None = None) -> None:
        super().__init__()
        if not variant.endpoints:
            raise EvalcliffError("openai backend: set `endpoints` (e.g. http://127.0.0.1:8000/v1)")
        for url in variant.endpoints:
            check_endpoint(url)
        self.v = variant
        self._bases = [url.rstrip("/") for url in variant.endpoints]
        self._next = itertools.cycle(self._bases)
        self._lock = threading.Lock()
        self.metrics_path = metrics_path
        self._fingerprints: set[str] = set()
        self._server_headers: dict[str, list[str]] = {}
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
        until = _stops(gen)[:MAX_STOPS]  # the rest are cut client-side (_with_retries)
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

    @contextmanager
    def _bounded(
        self, method: str, url: str, deadline: float, body: dict[str, Any] | None = None
    ) -> Iterator[Any]:
        """A streamed `requests` response whose whole exchange ends by `deadline`."""
        with _Watchdog(deadline) as watchdog, requests.Session() as session:
            session.mount("http://", _WatchedAdapter())
            session.mount("https://", _WatchedAdapter())
            left = max(0.001, deadline - time.monotonic())
            try:
                r = session.request(
                    method,
                    url,
                    json=body,
                    headers=self.headers,
                    timeout=(min(10.0, left), left),
                    stream=True,
                )
                try:
                    yield r
                finally:
                    r.close()
            except RequestFailed:
                raise
            except Exception as exc:
                if watchdog.fired:
                    raise Retryable(
                        f"no complete answer within timeout_s = {self.v.timeout_s:g} s"
                    ) from exc
                raise

    def _note_headers(self, r: Any) -> None:
        with self._lock:
            for name, value in r.headers.items():
                low = name.lower()
                value = value.strip()
                if (low == "server" or "version" in low) and value:
                    seen = self._server_headers.setdefault(low, [])
                    if value not in seen:
                        seen.append(value)

    def _note_fingerprint(self, doc: dict[str, Any]) -> None:
        fp = doc.get("system_fingerprint")
        if isinstance(fp, str) and fp:
            with self._lock:
                self._fingerprints.add(fp)

    def _once(self, path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        with self._lock:
            base = next(self._next)
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.v.timeout_s
        with self._bounded("POST", f"{base}/{path}", deadline, body) as r:
            if r.status_code != 200:
                err = f"HTTP {r.status_code}: {_snippet(_head(r, deadline))}"
                if r.status_code in RETRYABLE:
                    raise Retryable(err, retry_after_s(r.headers.get("Retry-After")))
                raise RequestFailed(err)
            self._note_headers(r)
            stamps: list[float] = []
            ctype = r.headers.get("Content-Type", "")
            if not self.v.stream or ctype.startswith("application/json"):
                doc = _json(b"".join(_body_chunks(r, deadline)), "the response body")
                self._note_fingerprint(doc)
                served, fingerprint = doc.get("model"), doc.get("system_fingerprint")
                choice = _first_choice(doc, required=True)
                assert choice is not None
                text, usage = _answer_text(choice), doc.get("usage")
                finish = _finish_reason(choice)
                _check_finish(finish, text, usage, body["max_tokens"], stream=False)
            else:
                text, usage, finished, saw_choice = "", None, False, False
                finish, served, fingerprint = None, None, None
                for data in _sse_data(_body_chunks(r, deadline)):
                    if data.strip() == "[DONE]":
                        finished = True
                        break
                    chunk = _json(data, "a stream chunk")
                    self._note_fingerprint(chunk)
                    served = served or _str_or_none(chunk.get("model"))
                    fingerprint = fingerprint or _str_or_none(chunk.get("system_fingerprint"))
                    usage = chunk.get("usage") or usage
                    choice = _first_choice(chunk, required=False)
                    if choice is None:
                        continue
                    saw_choice = True
                    if _finish_reason(choice) is not None:  # the last one given counts
                        finish = _finish_reason(choice)
                        finished = True
                    piece = _piece_text(choice)
                    if piece:
                        stamps.append(time.perf_counter())
                        text += piece
                if not finished:  # a dropped stream must not pass for a short answer
                    raise Retryable("stream ended before [DONE]/finish_reason")
                if not saw_choice:  # `{"choices": []}` + [DONE] is no answer, not ""
                    raise Retryable("the stream carried no choices")
                _check_finish(finish, text, usage, body["max_tokens"], stream=True)
        end = time.perf_counter()
        n_out = usage.get("completion_tokens") if isinstance(usage, dict) else None
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        return text, {
            "latency_s": end - t0,
            "ttft_s": (stamps[0] - t0) if stamps else None,
            "itl_s": gaps,
            "output_tokens": n_out if isinstance(n_out, int) else (len(stamps) or None),
            "served_model": _str_or_none(served),
            "fingerprint": _str_or_none(fingerprint),
        }

    def _with_retries(self, context: str, gen: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        path, body = self._payload(context, gen)
        last = ""
        for attempt in range(self.v.max_retries + 1):
            wait: float | None = None
            try:
                text, m = self._once(path, body)
                m["attempts"] = attempt + 1
                return cut_at_stops(text, _stops(gen)), m
            except RequestFailed as exc:
                return ERROR_PREFIX + str(exc), {"attempts": attempt + 1}
            except _FATAL_REQUEST_ERRORS as exc:
                return ERROR_PREFIX + f"{exc.__class__.__name__}: {str(exc)[:200]}", {
                    "attempts": attempt + 1
                }
            except Retryable as exc:
                last, wait = str(exc), exc.retry_after
            except Exception as exc:  # never abort the run: anything else is one failed attempt
                last = f"{exc.__class__.__name__}: {str(exc)[:200]}"
            if attempt < self.v.max_retries:
                delay = min(BACKOFF_CAP_S, self.v.retry_backoff_s * 2**attempt)
                delay *= 0.5 + random.random()
                if wait is not None:
                    delay = max(delay, min(RETRY_AFTER_CAP_S, wait))
                time.sleep(delay)
        return ERROR_PREFIX + f"gave up after {self.v.max_retries + 1} attempts ({last})", {
            "attempts": self.v.max_retries + 1
        }

    def server_info(self) -> ServerInfo:
        """What the server said about itself: model ids from `GET {endpoint}/models`, the
        distinct `system_fingerprint`s seen in answers, and version-like response headers
        (`server`, `*version*`; values from several endpoints joined by ", "). Never raises:
        an endpoint whose /models fails adds no ids."""
        models: list[str] = []
        for base in dict.fromkeys(self._bases):
            try:
                deadline = time.monotonic() + min(10.0, self.v.timeout_s)
                with self._bounded("GET", f"{base}/models", deadline) as r:
                    if r.status_code != 200:
                        continue
                    self._note_headers(r)
                    doc = _json(b"".join(_body_chunks(r, deadline, limit=1 << 20)), "/models")
                    listed = doc.get("data")
                    for m in listed if isinstance(listed, list) else []:
                        mid = m.get("id") if isinstance(m, dict) else None
                        if isinstance(mid, str) and mid not in models:
                            models.append(mid)
            except Exception:  # a server without /models still served the run
                continue
        with self._lock:
            return ServerInfo(
                models=models,
                system_fingerprints=sorted(self._fingerprints),
                headers={k: ", ".join(v) for k, v in sorted(self._server_headers.items())},
            )

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
    if not isinstance(variant, OpenAIVariant):
        raise EvalcliffError(f"backend 'openai' cannot run a {variant.backend!r} variant")
    lm = OpenAICompatLM(variant)
    return lm, {"endpoints": variant.endpoints, "model_name": variant.model}
