"""The openai backend against a loopback server that fails on purpose (tests/backends/
fault_server.py). For every fault the request ends within its deadline and the item is either
the right answer (after a retry) or an error row: never an abort, a hang, or a cached wrong
answer."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fault_server import (
    BENIGN,
    BOTH_MODES,
    FATAL,
    NONSTREAM_ONLY,
    STREAM_ONLY,
    FaultServer,
    dead_url,
    fault_server,
)

from evalcliff.backends import openai_compat
from evalcliff.backends.openai_compat import OpenAICompatLM, retry_after_s
from evalcliff.config.variants import OpenAIVariant, resolve_variant
from evalcliff.errors import ERROR_PREFIX, EvalcliffError
from evalcliff.results import read_header, read_results
from evalcliff.runner import run_variant
from evalcliff.schema.run import ServerInfo
from evalcliff.suites.build import build_items
from evalcliff.suites.spec import load_suite

T = 0.75  # timeout_s of the battery
GEN = {"until": ["\n"], "max_gen_toks": 8}
FOREVER = {"keepalive", "trickle", "header_trickle", "silent", "slow_body"}
CASES = sorted(
    [(f, "stream") for f in BOTH_MODES | STREAM_ONLY]
    + [(f, "nonstream") for f in BOTH_MODES | NONSTREAM_ONLY]
)


class CacheRecorder:
    """Stands in for lm-eval's CacheHook: what the backend asked to cache."""

    def __init__(self) -> None:
        self.cached: list[tuple[str, str]] = []

    def add_partial(self, attr: str, req: Any, res: str) -> None:
        self.cached.append((req[0], res))


@pytest.fixture(scope="module")
def srv() -> Iterator[FaultServer]:
    with fault_server() as s:
        yield s


def variant(endpoints: list[str], **kw: Any) -> OpenAIVariant:
    settings: dict[str, Any] = dict(
        model="toy", timeout_s=T, max_retries=2, retry_backoff_s=0.01, concurrency=1
    )
    settings.update(kw)
    return OpenAIVariant(backend="openai", endpoints=endpoints, **settings)


def ask(
    v: OpenAIVariant, prompts: list[str], tmp_path: Path | None = None
) -> tuple[list[str], CacheRecorder, float, OpenAICompatLM]:
    lm = OpenAICompatLM(v, tmp_path / "m.jsonl" if tmp_path else None)
    rec = CacheRecorder()
    lm.cache_hook = rec
    t0 = time.monotonic()
    out = lm.generate_until([SimpleNamespace(args=(p, GEN)) for p in prompts], disable_tqdm=True)
    return out, rec, time.monotonic() - t0, lm


def bound_s(retries: int, fault: str, timeout: float = T) -> float:
    """The most a request may take: every attempt to its deadline, plus waits and slack."""
    waits = retries * (1.1 if fault == "503_date" else 0.05)
    return (retries + 1) * timeout + waits + 1.5


@pytest.mark.parametrize("persistent", [False, True], ids=["transient", "persistent"])
@pytest.mark.parametrize(("fault", "mode"), CASES)
def test_fault_ends_as_answer_or_error_row(
    srv: FaultServer, fault: str, mode: str, persistent: bool
) -> None:
    prompt = f"{fault}/{mode}/{persistent}"
    retries = 1 if persistent else 2
    srv.plan(prompt, [], then=fault) if persistent else srv.plan(prompt, [fault])
    v = variant([srv.url], stream=mode == "stream", max_retries=retries)
    [out], rec, took, _ = ask(v, [prompt])
    attempts = len(srv.attempts[prompt])
    assert took < bound_s(retries, fault), took
    if fault in BENIGN:
        assert (out, attempts, rec.cached) == ("42", 1, [(prompt, "42")])
    elif fault in FATAL:
        assert out.startswith(ERROR_PREFIX + "HTTP 400") and attempts == 1 and not rec.cached
    elif persistent:
        assert out.startswith(ERROR_PREFIX + f"gave up after {retries + 1} attempts"), out
        assert attempts == retries + 1 and not rec.cached
    else:
        assert (out, attempts, rec.cached) == ("42", 2, [(prompt, "42")]), out


@pytest.mark.parametrize(
    ("fault", "mode"),
    [(f, m) for f, m in CASES if f in FOREVER],
)
def test_deadline_bounds_the_whole_attempt(srv: FaultServer, fault: str, mode: str) -> None:
    """A server that sends something every 50 ms forever is cut at timeout_s, and the
    connection is really closed (the server sees the hang-up), not left trickling."""
    prompt = f"deadline/{fault}/{mode}"
    srv.plan(prompt, [], then=fault)
    v = variant([srv.url], stream=mode == "stream", max_retries=0, timeout_s=0.5)
    [out], rec, took, _ = ask(v, [prompt])
    assert out.startswith(ERROR_PREFIX) and not rec.cached
    assert 0.45 <= took < 1.2, took
    if fault != "silent":  # silence never writes, so it cannot notice
        for _ in range(40):
            if srv.hung_up[prompt]:
                break
            time.sleep(0.05)
        assert srv.hung_up[prompt] == 1


def test_deadline_holds_through_an_http_proxy(
    srv: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HTTP_PROXY set, requests go through requests' proxy manager: its sockets are
    watched too (the fault server plays the proxy)."""
    for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", srv.url.removesuffix("/v1"))
    srv.plan("proxied", [], then="header_trickle")
    v = variant(["http://upstream.invalid/v1"], max_retries=0, timeout_s=0.5)
    [out], _, took, _ = ask(v, ["proxied"])
    assert out.startswith(ERROR_PREFIX) and 0.45 <= took < 1.2
    [ok], _, _, _ = ask(v, ["proxied-ok"])
    assert ok == "42" and [f for _, f in srv.attempts["proxied-ok"]] == ["ok"]


def test_connection_refused_is_retried_on_the_next_endpoint(srv: FaultServer) -> None:
    v = variant([dead_url(), srv.url])
    [out], rec, _, _ = ask(v, ["refused/transient"])
    assert out == "42" and len(srv.attempts["refused/transient"]) == 1


def test_connection_refused_everywhere_is_an_error_row() -> None:
    v = variant([dead_url()], max_retries=2)
    [out], rec, took, _ = ask(v, ["refused/persistent"])
    assert out.startswith(ERROR_PREFIX + "gave up after 3 attempts") and not rec.cached
    assert took < 2.0


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "close-delimited"])
def test_both_stream_framings(srv: FaultServer, chunked: bool) -> None:
    srv.chunked = chunked
    try:
        for fault in ("cut", "keepalive", "noise_lines"):
            prompt = f"framing/{chunked}/{fault}"
            srv.plan(prompt, [fault])
            [out], rec, took, _ = ask(variant([srv.url], timeout_s=0.5), [prompt])
            assert out == "42" and rec.cached == [(prompt, "42")] and took < 2.5
    finally:
        srv.chunked = True


@pytest.mark.parametrize("stream", [True, False])
def test_chat_answers_and_wrong_chat_shapes(srv: FaultServer, stream: bool) -> None:
    v = variant([srv.url], stream=stream, prompting="chat", max_retries=1)
    lm = OpenAICompatLM(v)
    rec = CacheRecorder()
    lm.cache_hook = rec
    ok = lm.apply_chat_template([{"role": "user", "content": f"chat/{stream}"}])
    bad = lm.apply_chat_template([{"role": "user", "content": f"chat-bad/{stream}"}])
    srv.plan(f"chat-bad/{stream}", [], then="choice_no_text")
    out = lm.generate_until([SimpleNamespace(args=(p, GEN)) for p in (ok, bad)], True)
    assert out[0] == "42" and out[1].startswith(ERROR_PREFIX)
    assert rec.cached == [(ok, "42")]


def test_retry_after_is_honoured(srv: FaultServer) -> None:
    srv.retry_after = "1"
    try:
        srv.plan("retry-after", ["429"])
        [out], _, _, _ = ask(variant([srv.url], retry_backoff_s=0.0), ["retry-after"])
    finally:
        srv.retry_after = "0"
    (t1, _), (t2, _) = srv.attempts["retry-after"]
    assert out == "42" and 0.95 <= t2 - t1 < 2.0


def test_retry_after_is_capped(srv: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_compat, "RETRY_AFTER_CAP_S", 0.3)
    srv.retry_after = "3600"
    try:
        srv.plan("retry-after-cap", ["429"])
        [out], _, _, _ = ask(variant([srv.url], retry_backoff_s=0.0), ["retry-after-cap"])
    finally:
        srv.retry_after = "0"
    (t1, _), (t2, _) = srv.attempts["retry-after-cap"]
    assert out == "42" and 0.25 <= t2 - t1 < 1.0


def test_retry_after_values() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert retry_after_s("2") == 2.0 and retry_after_s("0.5") == 0.5
    assert 28 <= (retry_after_s(soon) or 0) <= 31 and retry_after_s(past) == 0.0
    assert retry_after_s("-3") == 0.0
    for junk in (None, "", "soon", "nan", "inf"):
        assert retry_after_s(junk) is None


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "localhost:8000/v1",
        "127.0.0.1:8000/v1",
        "ftp://127.0.0.1/v1",
        "http://",
        "http:///v1",
        "http://127.0.0.1:99999/v1",
        "http://exa mple.com/v1",
        "file:///tmp/sock",
    ],
)
def test_a_non_http_endpoint_is_refused_at_construction(url: str) -> None:
    # the config loader refuses these too; model_copy skips it to reach the backend's own check
    v = variant(["http://127.0.0.1:1/v1"]).model_copy(update={"endpoints": [url]})
    with pytest.raises(EvalcliffError, match="not an http"):
        OpenAICompatLM(v)


def test_good_endpoints_are_accepted() -> None:
    urls = ["http://127.0.0.1:8000/v1", "https://api.example.com/v1/", "HTTP://[::1]:80/v1"]
    OpenAICompatLM(variant(urls))


def test_server_info(srv: FaultServer) -> None:
    lm = OpenAICompatLM(variant([srv.url, srv.url + "/"]))
    lm.cache_hook = CacheRecorder()
    assert lm.server_info().system_fingerprints == []  # nothing answered yet
    lm.generate_until([SimpleNamespace(args=("info", GEN))], True)
    info = lm.server_info()
    assert info.models == ["toy", "toy-lora"]
    assert info.system_fingerprints == ["fp_fault"]
    assert info.headers == {
        "server": "fault-server/1.0",
        "x-vllm-version": "0.0-fault",
        "openai-version": "2020-10-01",
    }
    assert ServerInfo.model_validate(info.model_dump()) == info


def test_server_info_never_raises(srv: FaultServer) -> None:
    assert OpenAICompatLM(variant([dead_url()])).server_info() == ServerInfo()
    srv.models = None  # /models answers 404
    try:
        info = OpenAICompatLM(variant([srv.url, dead_url()])).server_info()
    finally:
        srv.models = ["toy", "toy-lora"]
    assert info == ServerInfo()  # headers are recorded from answers (200) only


def test_request_metrics_are_written(srv: FaultServer, tmp_path: Path) -> None:
    srv.plan("metrics", ["500"])
    ask(variant([srv.url]), ["metrics"], tmp_path)
    [rec] = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert rec["attempts"] == 2 and rec["output_tokens"] == 2 and len(rec["itl_s"]) == 1
    assert 0 < rec["ttft_s"] <= rec["latency_s"]


# -- finish_reason: only a finished answer is an answer ---------------------------------------

UNFINISHED = {
    "abort": "finish_reason 'abort'",
    "content_filter": "finish_reason 'content_filter'",
    "tool_calls": "finish_reason 'tool_calls'",
    "unknown_finish": "finish_reason 'melted'",
    "early_length": "finish_reason 'length' after 1 of 8 tokens",
}


@pytest.mark.parametrize("mode", ["stream", "nonstream"])
@pytest.mark.parametrize("fault", sorted(UNFINISHED))
def test_an_unfinished_answer_is_retried_then_an_error_row(
    srv: FaultServer, fault: str, mode: str, tmp_path: Path
) -> None:
    """An aborted, filtered or cut-short answer is never scored as the model's answer: it is
    retried, and if it persists it becomes an error row that names the finish_reason."""
    prompt = f"unfinished/{fault}/{mode}"
    srv.plan(prompt, [], then=fault)
    v = variant([srv.url], stream=mode == "stream", max_retries=2)
    [out], rec, _, _ = ask(v, [prompt], tmp_path)
    assert out.startswith(ERROR_PREFIX + "gave up after 3 attempts"), out
    assert UNFINISHED[fault] in out, out
    assert len(srv.attempts[prompt]) == 3 and not rec.cached
    [m] = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert set(m) == {"hash", "attempts"}  # an error row's record is unchanged
    # once the server finishes its answers, the same request is answered
    srv.plan(prompt, [fault])
    srv.attempts[prompt].clear()
    [out], rec, _, _ = ask(v, [prompt])
    assert (out, rec.cached, len(srv.attempts[prompt])) == ("42", [(prompt, "42")], 2)


@pytest.mark.parametrize("mode", ["stream", "nonstream"])
@pytest.mark.parametrize("fault", ["ok", "length", "length_no_usage", "eos_token", "stop_sequence"])
def test_finished_answers_are_accepted(srv: FaultServer, fault: str, mode: str) -> None:
    """Answers ended by "stop", "length" (after max_tokens, or with no usage to say
    otherwise) or TGI's "eos_token"/"stop_sequence" are taken at the first attempt."""
    prompt = f"finished/{fault}/{mode}"
    srv.plan(prompt, [], then=fault)
    [out], rec, _, _ = ask(variant([srv.url], stream=mode == "stream"), [prompt])
    assert (out, rec.cached, len(srv.attempts[prompt])) == ("42", [(prompt, "42")], 1)


@pytest.mark.parametrize("mode", ["stream", "nonstream"])
def test_run_with_aborted_answers_has_error_rows_not_wrong_answers(
    mini_suite: Path, tmp_path: Path, mode: str
) -> None:
    """The hostile case end to end: a server that aborts a third of the items with empty text
    gives error rows (which the gate's error-rate guard turns into INCONCLUSIVE), never
    empty answers scored as wrong."""
    spec = load_suite(str(mini_suite))
    prompts = [it.prompt for it in build_items(spec)]
    with fault_server(_answers(mini_suite)) as srv:
        for k, p in enumerate(prompts):
            srv.plan(p, [], then="abort" if k % 3 == 0 else "ok")
        cfg = _config(tmp_path, srv.url, retries=1, timeout=5)
        cfg.write_text(cfg.read_text() + f"stream = {str(mode == 'stream').lower()}\n")
        out = tmp_path / "r.parquet"
        run_variant("remote", resolve_variant("remote", cfg), spec, out)
    df = read_results(out)
    failed = df[df["error"].notna()]
    assert len(df) == 30 and len(failed) == 10, failed[["item_id", "error"]]
    assert failed["error"].str.contains("finish_reason 'abort'").all()
    assert _served_as_sent(df, mini_suite)


# -- stop strings: more than the API's four are applied client-side --------------------------

FIVE_STOPS = {"until": ["<1>", "<2>", "<3>", "<4>", ";"], "max_gen_toks": 8}


@pytest.mark.parametrize("mode", ["stream", "nonstream"])
def test_the_fifth_stop_string_cuts_the_answer(srv: FaultServer, mode: str) -> None:
    """The server gets the first 4 stops (it ignores them all, like one that drops stops);
    the answer is cut at the fifth as lm-eval's HFLM cuts it, before it is cached."""
    prompt = f"stops/{mode}"
    srv.answers[prompt] = " 12; 13\n14"
    lm = OpenAICompatLM(variant([srv.url], stream=mode == "stream"))
    rec = CacheRecorder()
    lm.cache_hook = rec
    [out] = lm.generate_until([SimpleNamespace(args=(prompt, FIVE_STOPS))], True)
    assert out == " 12" and rec.cached == [(prompt, " 12")]
    assert srv.bodies[prompt]["stop"] == ["<1>", "<2>", "<3>", "<4>"]


def test_stops_are_applied_in_order_as_hflm_does(srv: FaultServer) -> None:
    def hflm(s: str, until: list[str]) -> str:  # lm-eval HFLM.generate_until's cut
        for term in until:
            if len(term) > 0:
                s = s.split(term)[0]
        return s

    until = ["", "a", "b", "c", "d", "ab", "x"]
    for text in ["xcab", "dcba", "", "abcd", "zzz", "cxd"]:
        assert openai_compat.cut_at_stops(text, until) == hflm(text, until)
    prompt = "stops/order"
    srv.answers[prompt] = "zzcaxbd"
    gen = {"until": ["", "b", "", "y", "q", "c", "a"], "max_gen_toks": 8}
    lm = OpenAICompatLM(variant([srv.url]))
    lm.cache_hook = CacheRecorder()
    [out] = lm.generate_until([SimpleNamespace(args=(prompt, gen))], True)
    assert out == hflm("zzcaxbd", gen["until"]) == "zz"
    assert srv.bodies[prompt]["stop"] == ["b", "y", "q", "c"]  # empty ones never sent


def test_an_error_row_is_not_cut_at_stops(srv: FaultServer) -> None:
    prompt = "stops/error"
    srv.plan(prompt, [], then="500")
    gen = {"until": ["<1>", "<2>", "<3>", "<4>", " "], "max_gen_toks": 8}
    lm = OpenAICompatLM(variant([srv.url], max_retries=0))
    lm.cache_hook = CacheRecorder()
    [out] = lm.generate_until([SimpleNamespace(args=(prompt, gen))], True)
    assert out.startswith(ERROR_PREFIX + "gave up after 1 attempts (HTTP 500"), out


# -- what answered each request -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["stream", "nonstream"])
def test_metrics_record_the_served_model_and_fingerprint(
    srv: FaultServer, tmp_path: Path, mode: str
) -> None:
    prompts = [f"served/{mode}/echo", f"served/{mode}/swapped"]
    v = variant([srv.url], stream=mode == "stream")
    ask(v, prompts[:1], tmp_path)
    srv.served_model = "toy-q2-by-mistake"
    try:
        ask(v, prompts[1:], tmp_path)
    finally:
        srv.served_model = None
    recs = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert [(r["served_model"], r["fingerprint"]) for r in recs] == [
        ("toy", "fp_fault"),
        ("toy-q2-by-mistake", "fp_fault"),
    ]
    keys = {"hash", "latency_s", "ttft_s", "itl_s", "output_tokens", "attempts"}
    assert all(set(r) == keys | {"served_model", "fingerprint"} for r in recs)


def test_metrics_say_none_when_the_server_does_not_name_itself(
    srv: FaultServer, tmp_path: Path
) -> None:
    prompt = "served/anonymous"
    srv.served_model = ""  # answers without a `model`
    try:
        [out], _, _, _ = ask(variant([srv.url]), [prompt], tmp_path)
    finally:
        srv.served_model = None
    [r] = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert out == "42" and r["served_model"] is None and r["fingerprint"] == "fp_fault"


# -- timeout_s is bounded at validation ----------------------------------------------------


@pytest.mark.parametrize("backend", ["openai", "llamacpp"])
@pytest.mark.parametrize("value", ["1e300", "86401"])
def test_a_timeout_beyond_a_day_is_refused_by_the_config(
    tmp_path: Path, backend: str, value: str
) -> None:
    """timeout_s = 1e300 overflowed the deadline timer in every request thread (each item an
    error, a traceback each); the config now refuses it in one line naming the field."""
    cfg = tmp_path / "v.toml"
    endpoints = 'endpoints = ["http://127.0.0.1:8000/v1"]\n' if backend == "openai" else ""
    cfg.write_text(f'[variants.x]\nbackend = "{backend}"\n{endpoints}timeout_s = {value}\n')
    with pytest.raises(EvalcliffError) as info:
        resolve_variant("x", cfg)
    msg = str(info.value)
    assert msg.startswith(f"{cfg}: variants.x.timeout_s:") and "\n" not in msg, msg
    cfg.write_text(f'[variants.x]\nbackend = "{backend}"\n{endpoints}timeout_s = 86400\n')
    assert resolve_variant("x", cfg).timeout_s == 86400  # type: ignore[union-attr]


# -- end to end: run_variant over the mini suite --------------------------------------------


def _config(tmp_path: Path, url: str, retries: int = 2, timeout: float = T) -> Path:
    cfg = tmp_path / "v.toml"
    cfg.write_text(
        f'[variants.remote]\nbackend = "openai"\nmodel = "toy"\n'
        f'endpoints = ["{url}"]\nconcurrency = 8\n'
        f"max_retries = {retries}\nretry_backoff_s = 0.01\ntimeout_s = {timeout}\n"
    )
    return cfg


def _answers(mini_suite: Path) -> dict[str, str]:
    items = build_items(load_suite(str(mini_suite)))
    return {it.prompt: " " + str(it.meta.get("completion", it.target)) for it in items}


def _served_as_sent(df: Any, mini_suite: Path) -> bool:
    """Every row without an error holds exactly what the server sent for its item (the
    backend's contract; whether it scores as correct is the scorers' business)."""
    sent = {
        it.item_id: str(it.meta.get("completion", it.target))
        for it in build_items(load_suite(str(mini_suite)))
    }
    ok = df[df["error"].isna()]
    return bool((ok["output"].str.strip() == ok["item_id"].map(sent).str.strip()).all())


def test_run_survives_every_fault_kind(mini_suite: Path, tmp_path: Path) -> None:
    """30 items, each failing once in a different way (three for good): 27 right answers,
    3 error rows, the server's self-description in the header; once the server recovers,
    the next run has no error rows."""
    spec = load_suite(str(mini_suite))
    prompts = [it.prompt for it in build_items(spec)]
    kinds = sorted((BOTH_MODES | STREAM_ONLY) - FATAL - BENIGN)
    doomed = {prompts[0]: "keepalive", prompts[9]: "no_choices", prompts[17]: "400"}
    with fault_server(_answers(mini_suite)) as srv:
        for k, p in enumerate(prompts):
            srv.plan(p, [], then=doomed[p]) if p in doomed else srv.plan(p, [kinds[k % len(kinds)]])
        cfg = _config(tmp_path, srv.url)
        out = tmp_path / "r.parquet"
        t0 = time.monotonic()
        run_variant("remote", resolve_variant("remote", cfg), spec, out)
        took = time.monotonic() - t0
        df = read_results(out)
        failed = df[df["error"].notna()]
        assert len(df) == 30 and len(failed) == 3, failed[["item_id", "error"]]
        assert _served_as_sent(df, mini_suite)
        assert (failed["output"] == "").all() and not failed["correct"].any()
        header = read_header(out)
        assert header is not None and header.n_errors == 3
        assert took < 30, took
        server = header.model.server
        assert server is not None and server.models == ["toy", "toy-lora"]
        assert server.system_fingerprints == ["fp_fault"]
        # the server recovers: the next run asks again (errors were never cached)
        for p in doomed:
            srv.plan(p, [])
        run_variant("remote", resolve_variant("remote", cfg), spec, out)
        assert all(srv.attempts[p][-1][1] == "ok" for p in doomed)
    df = read_results(out)
    assert df["error"].isna().all() and _served_as_sent(df, mini_suite)


def test_survives_500s_dropped_connections_and_cut_streams(
    mini_suite: Path, tmp_path: Path
) -> None:
    spec = load_suite(str(mini_suite))
    with fault_server(_answers(mini_suite)) as srv:
        for it in build_items(spec):
            srv.plan(it.prompt, ["500", "drop", "cut"])
        out = tmp_path / "r.parquet"
        cfg = _config(tmp_path, srv.url, retries=4, timeout=5)
        run_variant("remote", resolve_variant("remote", cfg), spec, out)
        injected = Counter(f for a in srv.attempts.values() for _, f in a)
    df = read_results(out)
    assert len(df) == 30 and df["error"].isna().all() and _served_as_sent(df, mini_suite)
    assert injected == Counter({"500": 30, "drop": 30, "cut": 30, "ok": 30})
    assert df["ttft_s"].notna().all() and (df["latency_s"] >= df["ttft_s"]).all()
    header = read_header(out)
    assert header is not None
    perf = header.perf
    assert perf.requests_computed == 30 and (perf.requests_per_s or 0) > 0
    assert perf.ttft_s.p50 is not None and perf.itl_s.p99 is not None


@pytest.mark.parametrize("field", ["endpoints"])
def test_openai_needs_an_endpoint(tmp_path: Path, field: str, mini_suite: Path) -> None:
    cfg = tmp_path / "v.toml"
    cfg.write_text('[variants.remote]\nbackend = "openai"\nmodel = "toy"\n')
    with pytest.raises(EvalcliffError, match=field):
        run_variant(
            "remote",
            resolve_variant("remote", cfg),
            load_suite(str(mini_suite)),
            tmp_path / "r.parquet",
        )
