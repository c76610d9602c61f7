"""A minimal OpenAI-compatible server for serve tests: `python fake_openai_server.py PORT`.

Answers every completion with the text in $FAKE_ANSWER (default "0"), streams when asked,
and writes its pid to $FAKE_PIDFILE so a test can check it was stopped.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/v1/models":
            self._send(200, json.dumps({"data": [{"id": "fake"}]}).encode())
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = os.environ.get("FAKE_ANSWER", "0")
        if body.get("stream"):
            chunks = [{"choices": [{"text": ch, "finish_reason": None}]} for ch in answer]
            chunks.append({"choices": [{"text": "", "finish_reason": "stop"}]})
            payload = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            self._send(200, payload.encode(), "text/event-stream")
        else:
            out = {"choices": [{"text": answer, "finish_reason": "stop"}], "usage": {}}
            self._send(200, json.dumps(out).encode())


if __name__ == "__main__":
    if os.environ.get("FAKE_PIDFILE"):
        with open(os.environ["FAKE_PIDFILE"], "w") as fh:
            fh.write(str(os.getpid()))
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
