"""An in-process OpenAI-compatible server whose answers a test can change, counting requests."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeServer:
    """Answers every completion with `answer` (or `answer_for(prompt)`); `requests` counts
    the prompts asked; `delay_s` slows each answer down."""

    def __init__(self, answer: str = "0", delay_s: float = 0.0) -> None:
        self.answer = answer
        self.delay_s = delay_s
        self.requests: Counter[str] = Counter()
        self.fingerprint = "fp-1"
        self.model: str | None = None  # the answers' `model` field (None: left out)
        self.fail_next = 0  # this many of the next requests get HTTP 500
        self.answer_for: dict[str, str] = {}  # prompt -> its answer (else `answer`)
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("x-fake-version", "1.2.3")
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802
                self._send(200, {"data": [{"id": "fake-model"}]})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = str(body.get("prompt", ""))
                if owner.delay_s:
                    time.sleep(owner.delay_s)
                with owner._lock:
                    owner.requests[prompt] += 1
                    fail = owner.fail_next > 0
                    owner.fail_next -= fail
                if fail:
                    self._send(500, {"error": "overloaded"})
                    return
                text = owner.answer_for.get(prompt, owner.answer)
                out = {
                    "choices": [{"text": text, "finish_reason": "stop", "index": 0}],
                    "usage": {"completion_tokens": 1},
                    "system_fingerprint": owner.fingerprint,
                }
                if owner.model is not None:
                    out["model"] = owner.model
                self._send(200, out)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def total(self) -> int:
        return sum(self.requests.values())
