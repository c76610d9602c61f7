"""The openai backend against a local fault-injecting OpenAI-compatible server."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from evalcliff.config.variants import resolve_variant
from evalcliff.results import read_header, read_results
from evalcliff.runner import run_variant
from evalcliff.suites.build import build_items
from evalcliff.suites.spec import load_suite


class FaultyServer(ThreadingHTTPServer):
    """Answers from `answers`; each prompt's first attempts fail in the way `faults` says."""

    daemon_threads = True

    def __init__(self, answers: dict[str, str], faults: list[str], always_fail: set[str]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.answers, self.faults, self.always_fail = answers, faults, always_fail
        self.attempts: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: FaultyServer

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["prompt"]
        with self.server.lock:
            k = self.server.attempts[prompt]
            self.server.attempts[prompt] += 1
        fault = self.server.faults[k] if k < len(self.server.faults) else "ok"
        if prompt in self.server.always_fail:
            fault = "500"
        if fault != "ok":
            with self.server.lock:
                self.server.injected[fault] += 1
        if fault == "500":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        if fault == "drop":  # close the connection without any response
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        answer = " " + self.server.answers[prompt] + "\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i, ch in enumerate(answer):
            if fault == "cut" and i == 1:  # drop the stream half way
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if ch == "\n":  # the stop sequence ends generation
                break
            chunk = {"choices": [{"text": ch, "index": 0, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        done = {"choices": [{"text": "", "index": 0, "finish_reason": "stop"}]}
        self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())


def _serve(
    mini_suite: Path,
    faults: list[str],
    always_fail: set[str] = frozenset(),  # type: ignore[assignment]
) -> Iterator[FaultyServer]:
    items = build_items(load_suite(str(mini_suite)))
    answers = {it.prompt: str(it.meta.get("completion", it.target)) for it in items}
    srv = FaultyServer(answers, faults, set(always_fail))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _config(tmp_path: Path, port: int, retries: int = 4) -> Path:
    cfg = tmp_path / "v.toml"
    cfg.write_text(
        f'[variants.remote]\nbackend = "openai"\nmodel = "toy"\n'
        f'endpoints = ["http://127.0.0.1:{port}/v1"]\nconcurrency = 4\n'
        f"max_retries = {retries}\nretry_backoff_s = 0.01\ntimeout_s = 5\n"
    )
    return cfg


def test_survives_500s_dropped_connections_and_cut_streams(
    mini_suite: Path, tmp_path: Path
) -> None:
    gen = _serve(mini_suite, ["500", "drop", "cut"])
    srv = next(gen)
    try:
        cfg = _config(tmp_path, srv.server_address[1])
        out = tmp_path / "r.parquet"
        run_variant("remote", resolve_variant("remote", cfg), load_suite(str(mini_suite)), out)
    finally:
        gen.close()
    df = read_results(out)
    assert len(df) == 30 and df["error"].isna().all()
    assert df["correct"].all(), df[~df["correct"]][["item_id", "output"]]
    assert srv.injected == Counter({"500": 30, "drop": 30, "cut": 30})
    assert df["ttft_s"].notna().all() and (df["latency_s"] >= df["ttft_s"]).all()
    perf = read_header(out)["perf"]
    assert perf["requests_computed"] == 30 and perf["requests_per_s"] > 0
    assert perf["ttft_s"]["p50"] is not None and perf["itl_s"]["p99"] is not None


def test_persistent_failures_become_error_rows_and_a_rerun_retries_them(
    mini_suite: Path, tmp_path: Path
) -> None:
    spec = load_suite(str(mini_suite))
    items = build_items(spec)
    doomed = {items[0].prompt, items[9].prompt}
    gen = _serve(mini_suite, [], doomed)
    srv = next(gen)
    cfg = _config(tmp_path, srv.server_address[1], retries=1)
    out = tmp_path / "r.parquet"
    try:
        run_variant("remote", resolve_variant("remote", cfg), spec, out)
        df = read_results(out)
        assert df["error"].notna().sum() == 2
        assert df.loc[df["error"].notna(), "error"].str.contains("HTTP 500").all()
        assert df["error"].isna().sum() == 28 and df.loc[df["error"].isna(), "correct"].all()
        # the endpoint recovers: a rerun asks only for the two failed items
        srv.always_fail.clear()
        before = sum(srv.attempts.values())
        run_variant("remote", resolve_variant("remote", cfg), spec, out, force=True)
        assert sum(srv.attempts.values()) - before == 2
    finally:
        gen.close()
    df = read_results(out)
    assert df["error"].isna().all() and df["correct"].all()


@pytest.mark.parametrize("field", ["endpoints"])
def test_openai_needs_an_endpoint(tmp_path: Path, field: str, mini_suite: Path) -> None:
    from evalcliff.errors import EvalcliffError

    cfg = tmp_path / "v.toml"
    cfg.write_text('[variants.remote]\nbackend = "openai"\nmodel = "toy"\n')
    with pytest.raises(EvalcliffError, match=field):
        run_variant(
            "remote",
            resolve_variant("remote", cfg),
            load_suite(str(mini_suite)),
            tmp_path / "r.parquet",
        )
