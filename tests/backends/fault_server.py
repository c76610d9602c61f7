"""A loopback OpenAI-compatible server that fails on purpose, for the openai backend's tests.

`FaultServer.plan(prompt, faults, then)`: attempt k for `prompt` behaves as `faults[k]`, and
every later attempt as `then` ("ok" answers `answers[prompt]`, default "42"). `FAULTS` names
every behaviour; the forever-kinds (keep-alive pings, token trickle, header trickle, silence,
slow body) stop when the client hangs up, when the server shuts down, or after `FOREVER_S`.
Streams are sent with chunked transfer encoding unless `chunked = False` (close-delimited).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FOREVER_S = 30.0
TICK_S = 0.05  # the forever-kinds send something this often

# wrong-shaped answers: sent as the body, or as one stream event followed by [DONE]
SHAPES: dict[str, Any] = {
    "no_choices": {"id": "cmpl-1", "object": "text_completion"},
    "choices_not_list": {"choices": {"text": "42"}},
    "choice_not_object": {"choices": ["42"]},
    "choice_no_text": {"choices": [{"index": 0}]},
    "text_not_str": {"choices": [{"index": 0, "text": 42, "finish_reason": "stop"}]},
    "null_text": {"choices": [{"index": 0, "text": None}]},
    "json_array": [{"text": "42"}],
    "error_200": {"error": {"message": "engine overloaded", "code": 503}},
    "empty_choices": {"choices": []},
}
BOTH_MODES = {
    "500",  # HTTP 500 (retryable)
    "429",  # HTTP 429 with Retry-After (server.retry_after)
    "503_date",  # HTTP 503 with Retry-After as an HTTP date
    "400",  # HTTP 400 (not retryable)
    "drop",  # the connection closes before any response
    "mid_headers",  # the connection closes half way through the headers
    "header_trickle",  # one header line per tick, forever
    "silent",  # reads the request, never answers
    "not_json",  # an HTML page where JSON belongs
    "abort",  # no text, finish_reason "abort" (vLLM/SGLang when a request is aborted)
    "content_filter",  # the first character, finish_reason "content_filter"
    "tool_calls",  # no text, finish_reason "tool_calls"
    "unknown_finish",  # the whole answer, finish_reason "melted"
    "early_length",  # the answer, finish_reason "length" after 1 of max_tokens tokens
    "length",  # the answer, finish_reason "length" after max_tokens tokens (benign)
    "length_no_usage",  # the answer, finish_reason "length", no usage (benign)
    "eos_token",  # the answer, finish_reason "eos_token" as TGI says it (benign)
    "stop_sequence",  # the answer, finish_reason "stop_sequence" as TGI says it (benign)
    *SHAPES,
}
# finish_reason faults: (characters of the answer sent, None = all; finish_reason;
# usage.completion_tokens, None = no usage, -1 = the request's max_tokens)
FINISHES: dict[str, tuple[int | None, str, int | None]] = {
    "abort": (0, "abort", 0),
    "content_filter": (1, "content_filter", 1),
    "tool_calls": (0, "tool_calls", None),
    "unknown_finish": (None, "melted", 2),
    "early_length": (None, "length", 1),
    "length": (None, "length", -1),
    "length_no_usage": (None, "length", None),
    "eos_token": (None, "eos_token", None),
    "stop_sequence": (None, "stop_sequence", 2),
}
STREAM_ONLY = {
    "cut",  # two tokens, then the connection closes (no [DONE])
    "keepalive",  # `: ping` comments forever
    "trickle",  # one token per tick, forever
    "bad_utf8",  # a data line with invalid UTF-8
    "garbage_sse",  # a data line that is not JSON
    "stream_error",  # a token, then `data: {"error": ...}`
    "done_only",  # just `data: [DONE]`
    "noise_lines",  # valid answer amid SSE fields, comments and stray lines (benign)
    "stream_ignored",  # a whole JSON body although a stream was asked for (benign)
}
NONSTREAM_ONLY = {
    "slow_body",  # the JSON body one byte per tick, forever
    "short_body",  # Content-Length promises more than is sent
}
FAULTS = BOTH_MODES | STREAM_ONLY | NONSTREAM_ONLY
# the right answer comes through at once
BENIGN = {"noise_lines", "stream_ignored", "length", "length_no_usage", "eos_token"}
BENIGN |= {"stop_sequence"}
FATAL = {"400"}  # an error at once, never retried


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = dict(answers or {})
        self.plans: dict[str, tuple[list[str], str]] = {}
        self.attempts: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self.hung_up: dict[str, int] = defaultdict(int)  # forever-kinds ended by the client
        self.retry_after = "0"
        self.chunked = True
        self.models: list[str] | None = ["toy", "toy-lora"]  # None: /models answers 404
        # the `model` answers name; None: the one asked for; "": none
        self.served_model: str | None = None
        self.bodies: dict[str, dict[str, Any]] = {}  # the last request body per prompt
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client that hung up is expected
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def plan(self, prompt: str, faults: list[str], then: str = "ok") -> None:
        for f in [*faults, then]:
            assert f == "ok" or f in FAULTS, f
        self.plans[prompt] = (list(faults), then)

    def next_fault(self, prompt: str) -> str:
        with self.lock:
            faults, then = self.plans.get(prompt, ([], "ok"))
            k = len(self.attempts[prompt])
            fault = faults[k] if k < len(faults) else then
            self.attempts[prompt].append((time.monotonic(), fault))
        return fault


@contextmanager
def fault_server(answers: dict[str, str] | None = None) -> Iterator[FaultServer]:
    srv = FaultServer(answers)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.stopping.set()
        srv.shutdown()
        srv.server_close()


def dead_url() -> str:
    """An http URL on which nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"
    model = "toy"  # the `model` this request's answer names

    def version_string(self) -> str:
        return "fault-server/1.0"

    def log_message(self, *args: object) -> None:
        pass

    # -- framing
    def _start(self, code: int = 200, ctype: str = "text/event-stream", length: int = -1) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("x-vllm-version", "0.0-fault")
        self.send_header("openai-version", "2020-10-01")
        self.send_header("x-request-id", "req-1")
        if length >= 0:
            self.send_header("Content-Length", str(length))
        elif self.server.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _write(self, data: bytes) -> None:
        if self.server.chunked:
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.wfile.write(data)

    def _end(self) -> None:
        if self.server.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
        self._start(code, ctype, len(body))
        self.wfile.write(body)

    def _event(self, doc: Any) -> None:
        self._write(f"data: {json.dumps(doc)}\n\n".encode())

    def _hang_up(self) -> None:
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def _forever(self, prompt: str, tick: Any) -> None:
        """Call `tick(k)` every TICK_S until the client hangs up or time is up."""
        end = time.monotonic() + FOREVER_S
        k = 0
        try:
            while time.monotonic() < end and not self.server.stopping.is_set():
                tick(k)
                k += 1
                time.sleep(TICK_S)
        except OSError:  # the client hung up, as it should
            with self.server.lock:
                self.server.hung_up[prompt] += 1
        self.close_connection = True

    # -- answers
    def _chunk(self, chat: bool, text: str | None, finish: str | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
        if chat:
            choice["delta"] = {} if text is None else {"content": text}
        else:
            choice["text"] = text or ""
        return self._named(
            {"object": "chunk", "choices": [choice], "system_fingerprint": "fp_fault"}
        )

    def _named(self, doc: dict[str, Any]) -> dict[str, Any]:
        """`doc` with the served model's name, as real servers send it (unless it is "")."""
        return {"model": self.model, **doc} if self.model else doc

    def _ok(
        self,
        answer: str,
        chat: bool,
        stream: bool,
        finish: str = "stop",
        n_tokens: int | None = -2,  # None: no usage; -2: len(answer), streams no usage
    ) -> None:
        if n_tokens == -2:
            n_tokens = None if stream else len(answer)
        if not stream:
            message = {"role": "assistant", "content": answer}
            msg = {"message": message} if chat else {"text": answer}
            doc: dict[str, Any] = {
                "object": "text_completion",
                "choices": [{"index": 0, **msg, "finish_reason": finish}],
                "system_fingerprint": "fp_fault",
            }
            if n_tokens is not None:
                doc["usage"] = {"completion_tokens": n_tokens}
            self._send(200, json.dumps(self._named(doc)).encode())
            return
        self._start()
        for ch in answer:
            self._event(self._chunk(chat, ch))
        self._event(self._chunk(chat, None, finish))
        if n_tokens is not None:  # as with stream_options.include_usage: after the finish
            self._event(self._named({"choices": [], "usage": {"completion_tokens": n_tokens}}))
        self._write(b"data: [DONE]\n\n")
        self._end()

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") == "/v1/models" and self.server.models is not None:
            data = [{"id": m, "object": "model"} for m in self.server.models]
            self._send(200, json.dumps({"object": "list", "data": data}).encode())
        else:
            self._send(404, b'{"error": "not found"}')

    def do_POST(self) -> None:  # noqa: N802
        self.close_connection = True
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        chat = "messages" in body
        prompt = body["messages"][-1]["content"] if chat else body["prompt"]
        self.server.bodies[prompt] = body
        served = self.server.served_model
        self.model = body["model"] if served is None else served
        stream = bool(body.get("stream"))
        answer = self.server.answers.get(prompt, "42")
        fault = self.server.next_fault(prompt)
        if fault == "ok":
            self._ok(answer, chat, stream)
        elif fault in FINISHES:
            n_chars, finish, n_tokens = FINISHES[fault]
            if n_tokens == -1:
                n_tokens = int(body["max_tokens"])
            self._ok(answer[:n_chars], chat, stream, finish, n_tokens)
        elif fault == "500":
            self._send(500, b"Internal Server Error", "text/plain")
        elif fault == "429":
            self.send_response(429)
            self.send_header("Retry-After", self.server.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif fault == "503_date":
            self.send_response(503)
            self.send_header("Retry-After", formatdate(time.time() + 1, usegmt=True))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif fault == "400":
            self._send(400, b'{"error": {"message": "prompt too long"}}')
        elif fault == "drop":
            self._hang_up()
        elif fault == "mid_headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Ty")
            self._hang_up()
        elif fault == "header_trickle":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self._forever(prompt, lambda k: self.wfile.write(f"X-Pad-{k}: x\r\n".encode()))
        elif fault == "silent":
            self._forever(prompt, lambda k: None)
        elif fault == "not_json":
            page = b"<html><body>502 Bad Gateway</body></html>"
            if stream:
                self._start()
                self._write(b"data: " + page + b"\n\n")
                self._end()
            else:
                self._send(200, page)
        elif fault in SHAPES:
            if stream:
                self._start()
                self._event(SHAPES[fault])
                self._write(b"data: [DONE]\n\n")
                self._end()
            else:
                self._send(200, json.dumps(SHAPES[fault]).encode())
        elif fault == "cut":
            self._start()
            for ch in answer[:2]:
                self._event(self._chunk(chat, ch))
            self._hang_up()
        elif fault == "keepalive":
            self._start()
            self._forever(prompt, lambda k: self._write(b": ping\n\n"))
        elif fault == "trickle":
            self._start()
            self._forever(prompt, lambda k: self._event(self._chunk(chat, answer[k % len(answer)])))
        elif fault == "bad_utf8":
            self._start()
            self._write(b'data: {"choices": [{"index": 0, "text": "4\xff\xfe"}]}\n\n')
            self._event(self._chunk(chat, None, "stop"))
            self._write(b"data: [DONE]\n\n")
            self._end()
        elif fault == "garbage_sse":
            self._start()
            self._write(b'data: {"choices": [{"text": "4\n\n')
            self._write(b"data: [DONE]\n\n")
            self._end()
        elif fault == "stream_error":
            self._start()
            self._event(self._chunk(chat, answer[0]))
            self._event({"error": {"message": "CUDA out of memory", "code": 500}})
            self._write(b"data: [DONE]\n\n")
            self._end()
        elif fault == "done_only":
            self._start()
            self._write(b"data: [DONE]\n\n")
            self._end()
        elif fault == "noise_lines":
            self._start()
            self._write(b"event: completion\nid: 7\nretry: 100\n: a comment\nstray line\n\n")
            for ch in answer:
                self._write(b": ping\n\n")
                self._event(self._chunk(chat, ch))
            self._event({"choices": [], "usage": {"completion_tokens": len(answer)}})
            self._event(self._chunk(chat, None, "stop"))
            self._write(b"data: [DONE]\n\n")
            self._end()
        elif fault == "stream_ignored":
            self._ok(answer, chat, stream=False)
        elif fault == "slow_body":
            self._start(200, "application/json", 10_000)
            self.wfile.write(b'{"choices": [{"text": "42", ')
            self._forever(prompt, lambda k: self.wfile.write(b" "))
        elif fault == "short_body":
            doc = json.dumps({"choices": [{"text": answer, "finish_reason": "stop"}]}).encode()
            self._start(200, "application/json", len(doc) + 50)
            self.wfile.write(doc[:20])
            self._hang_up()
        else:  # pragma: no cover
            raise AssertionError(fault)
