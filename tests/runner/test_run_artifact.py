"""The run artifact's honest identity: nothing reused or replayed that should be computed.

Each test pins one defect found at f51ffe1 (see the run-artifact issue).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evalcliff.config.variants import resolve_variant
from evalcliff.errors import ERROR_PREFIX, EvalcliffError
from evalcliff.locking import exclusive
from evalcliff.results import read_header, read_results, read_run
from evalcliff.runner import run_variant
from evalcliff.suites.build import build_items, limit_items
from evalcliff.suites.spec import load_suite
from tests.conftest import MINI_SUITE
from tests.runner.fake_server import FakeServer

NO_CODE_SUITE = MINI_SUITE.split("  code:")[0]
HEAD_ONLY = """\
name: heads
version: 1
seed: 5
slices:
  head:
    generator: head
    scorer: exact
    weight: 1.0
    generation: {max_gen_toks: 8, until: ["\\n"]}
    strata: {task: [succ, copy]}
    items_per_stratum: 4
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    p = tmp_path / "nocode.yaml"
    p.write_text(NO_CODE_SUITE)
    return p


@pytest.fixture
def heads(tmp_path: Path) -> Path:
    p = tmp_path / "heads.yaml"
    p.write_text(HEAD_ONLY)
    return p


def _served_config(tmp_path: Path, url: str, concurrency: int = 2) -> Path:
    cfg = tmp_path / "served.toml"
    cfg.write_text(
        f'[variants."prod.v1 east"]\nbackend = "openai"\nmodel = "fake-model"\n'
        f'endpoints = ["{url}"]\nstream = false\nconcurrency = {concurrency}\n'
        "max_retries = 0\ntimeout_s = 10\n"
    )
    return cfg


def test_dotted_names_keep_their_own_provenance(suite: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "v.toml"
    cfg.write_text(
        '[variants."llama-3.1-8b-fp16"]\nbackend = "mock"\n\n'
        '[variants."llama-3.1-8b-q4"]\nbackend = "mock"\nerror_rate = 0.6\nseed = 3\n'
    )
    spec = load_suite(str(suite))
    runs = tmp_path / "runs"
    for name in ("llama-3.1-8b-fp16", "llama-3.1-8b-q4"):
        run_variant(name, resolve_variant(name, cfg), spec, runs / f"{name}.parquet")
    for name in ("llama-3.1-8b-fp16", "llama-3.1-8b-q4"):
        header = read_header(runs / f"{name}.parquet")
        assert header is not None and header.variant == name
    assert not list(runs.glob("*.json")), "no sidecar headers: the header is inside the file"
    # a dotted output name next to another run's file is its own run, never a reuse of it
    base = run_variant(
        "llama-3.1-8b-fp16", resolve_variant("llama-3.1-8b-fp16", cfg), spec, runs / "exp.parquet"
    )
    cand = run_variant(
        "llama-3.1-8b-q4", resolve_variant("llama-3.1-8b-q4", cfg), spec, runs / "exp.base.parquet"
    )
    assert not cand.reused and cand.header.variant == "llama-3.1-8b-q4"
    assert base.header.run_key != cand.header.run_key
    assert not read_results(runs / "exp.base.parquet")["correct"].all()


def test_served_variant_is_asked_again_and_new_answers_appear(heads: Path, tmp_path: Path) -> None:
    spec = load_suite(str(heads))
    out = tmp_path / "prod.parquet"
    with FakeServer(answer="week1") as server:
        variant = resolve_variant("prod.v1 east", _served_config(tmp_path, server.url))
        first = run_variant("prod.v1 east", variant, spec, out)
        assert server.total == first.n_items == 8
        assert set(read_results(out)["output"]) == {"week1"}
        server.answer = "week2"
        second = run_variant("prod.v1 east", variant, spec, out)
        assert not second.reused
        assert server.total == 16, "a served model's finished run must never be replayed"
        assert set(read_results(out)["output"]) == {"week2"}
        header = second.header
        assert header.model.weights_fingerprint is None
        if header.model.server is not None:  # what the server says about itself
            assert "fake-model" in header.model.server.models


def test_kill_9_of_a_served_run_resumes_only_unfinished_items(heads: Path, tmp_path: Path) -> None:
    env = {**os.environ, "EVALCLIFF_CACHE": str(tmp_path / "cache"), "PYTHONPATH": os.getcwd()}
    with FakeServer(answer="x", delay_s=0.3) as server:
        cfg = _served_config(tmp_path, server.url, concurrency=1)
        out = tmp_path / "prod.parquet"
        cmd = [sys.executable, "-m", "evalcliff.cli.main", "run", "prod.v1 east"]
        cmd += ["--suite", str(heads), "--config", str(cfg), "--out", str(out)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while server.total < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        asked_before = server.total
        assert 3 <= asked_before < 8, proc.stderr.read() if proc.stderr else ""
        assert not out.exists()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        # finished items come from the interrupted run's cache; at most the one request in
        # flight at the kill is asked twice
        assert 8 <= server.total <= 9
        assert len(read_results(out)) == 8
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert server.total - (asked_before + 8 - asked_before) >= 8 or server.total >= 16


def test_editing_generation_settings_invalidates_reuse(suite: Path, mock_config: Path) -> None:
    out = suite.parent / "good.parquet"
    v = resolve_variant("good", mock_config)
    first = run_variant("good", v, load_suite(str(suite)), out)
    assert run_variant("good", v, load_suite(str(suite)), out).reused
    suite.write_text(suite.read_text().replace("max_gen_toks: 12", "max_gen_toks: 13", 1))
    edited = run_variant("good", v, load_suite(str(suite)), out)
    assert not edited.reused and edited.header.run_key != first.header.run_key
    assert edited.header.suite.slices["head"].generation.max_gen_toks == 13


def test_a_run_with_error_rows_is_not_reused_and_retries_only_failures(
    suite: Path, mock_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evalcliff.backends.mock as mock

    original = mock.MockLM.generate_until
    asked: list[str] = []

    def failing(self, requests, disable_tqdm=False):  # type: ignore[no-untyped-def]
        # every third request fails for good, and (like a real backend) is not cached
        ok = [r for k, r in enumerate(requests) if k % 3]
        answers = iter(original(self, ok, disable_tqdm))
        return [next(answers) if k % 3 else ERROR_PREFIX + "HTTP 503" for k in range(len(requests))]

    def counting(self, requests, disable_tqdm=False):  # type: ignore[no-untyped-def]
        asked.extend(r.args[0] for r in requests)
        return original(self, requests, disable_tqdm)

    spec = load_suite(str(suite))
    v = resolve_variant("good", mock_config)
    out = suite.parent / "good.parquet"
    monkeypatch.setattr(mock.MockLM, "generate_until", failing)
    first = run_variant("good", v, spec, out)
    n_err = first.n_errors
    assert n_err > 0 and read_results(out)["error"].notna().sum() == n_err
    monkeypatch.setattr(mock.MockLM, "generate_until", counting)
    second = run_variant("good", v, spec, out)
    assert not second.reused and second.n_errors == 0
    assert len(asked) == n_err, "only the failed items are asked again"


def test_concurrent_writers_to_one_output_are_refused(suite: Path, mock_config: Path) -> None:
    out = suite.parent / "good.parquet"
    v = resolve_variant("good", mock_config)
    with (
        exclusive(out, f"results file {out}"),
        pytest.raises(EvalcliffError, match="another evalcliff process"),
    ):
        run_variant("good", v, load_suite(str(suite)), out)
    assert not out.exists()
    run_variant("good", v, load_suite(str(suite)), out)  # the lock died with its holder
    assert read_header(out) is not None


def test_concurrent_processes_never_mix_rows(
    suite: Path, mock_config: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "EVALCLIFF_CACHE": str(tmp_path / "cache"), "PYTHONPATH": os.getcwd()}
    out = tmp_path / "shared.parquet"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evalcliff.cli.main",
                "run",
                name,
                "--suite",
                str(suite),
                "--config",
                str(mock_config),
                "--out",
                str(out),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for name in ("good", "bad")
    ]
    codes = [p.wait(timeout=240) for p in procs]
    assert set(codes) <= {0, 2} and 0 in codes
    run = read_run(out)
    assert run.header is not None
    wrong = (~run.results["correct"]).sum()
    # the file is wholly one writer's: all correct for "good", some wrong for "bad"
    assert (run.header.variant == "good") == (wrong == 0)


def test_a_crash_before_the_file_lands_never_lets_wrong_results_be_reused(
    heads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evalcliff.runner.run as runner

    spec = load_suite(str(heads))
    out = tmp_path / "prod.parquet"
    real_write = runner.write_run

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # killed between the cache update and the rename

    with FakeServer(answer="old") as server:
        variant = resolve_variant("prod.v1 east", _served_config(tmp_path, server.url))
        run_variant("prod.v1 east", variant, spec, out)
        server.answer = "new"
        monkeypatch.setattr(runner, "write_run", crash)
        with pytest.raises(KeyboardInterrupt):
            run_variant("prod.v1 east", variant, spec, out)
        assert set(read_results(out)["output"]) == {"old"}  # the old file, whole
        assert not list(tmp_path.glob(".prod.parquet*.tmp"))
        monkeypatch.setattr(runner, "write_run", real_write)
        asked = server.total
        final = run_variant("prod.v1 east", variant, spec, out)
        assert not final.reused and server.total == asked + 8
        assert set(read_results(out)["output"]) == {"new"}


def test_limit_1_covers_every_stratum_of_smoke() -> None:
    spec = load_suite("smoke")
    items = build_items(spec)
    limited = limit_items(items, 1, spec.seed)
    strata = {(it.slice, it.stratum) for it in items}
    assert {(it.slice, it.stratum) for it in limited} == strata
    assert len(limited) == len(strata)
    assert limited == limit_items(items, 1, spec.seed)  # seeded: deterministic
    assert limit_items(items, 1, spec.seed + 1) != limited  # …and a draw, not the first item


def test_a_limited_run_is_recorded_and_never_replaces_a_full_one(
    suite: Path, mock_config: Path
) -> None:
    out = suite.parent / "good.parquet"
    v = resolve_variant("good", mock_config)
    spec = load_suite(str(suite))
    full = run_variant("good", v, spec, out)
    with pytest.raises(EvalcliffError, match="limited run"):
        run_variant("good", v, spec, out, limit=1)
    limited = run_variant("good", v, spec, suite.parent / "good.limit1.parquet", limit=1)
    assert limited.header.limit == 1 and limited.header.suite.limit == 1
    assert limited.n_items < full.n_items
    assert limited.header.run_key != full.header.run_key


def test_a_prompt_longer_than_the_context_is_an_error_row(tmp_path: Path) -> None:
    suite = tmp_path / "long.yaml"
    suite.write_text(
        "name: long\nversion: 1\nseed: 1\nslices:\n  long_context:\n    generator: kv_retrieval\n"
        "    scorer: exact\n    weight: 1.0\n    generation: {max_gen_toks: 6}\n"
        "    strata: {len: [256], depth: [0.5]}\n    items_per_stratum: 2\n"
    )
    cfg = tmp_path / "short.toml"
    cfg.write_text('[variants.short]\nbackend = "hf"\nmodel = "embedded"\nmax_length = 64\n')
    out = tmp_path / "short.parquet"
    outcome = run_variant("short", resolve_variant("short", cfg), load_suite(str(suite)), out)
    df = read_results(out)
    assert outcome.n_errors == len(df) == 2
    assert df["error"].str.contains(r"prompt is \d+ tokens .*context is 64 tokens").all()
    assert outcome.header.model.context_length == 64


def test_a_comparison_of_limited_runs_says_so(suite: Path, mock_config: Path) -> None:
    from evalcliff.compare import compare_files

    spec = load_suite(str(suite))
    base = run_variant("good", resolve_variant("good", mock_config), spec,
                       suite.parent / "good.limit1.parquet", limit=1)  # fmt: skip
    cand = run_variant("bad", resolve_variant("bad", mock_config), spec,
                       suite.parent / "bad.limit1.parquet", limit=1)  # fmt: skip
    out = suite.parent / "report"
    text, _, summary_path = compare_files(base.results_path, cand.results_path, None, out)
    assert text.splitlines()[0].endswith("(limited run)")
    assert "LIMITED RUN (base 1 per stratum, cand 1 per stratum)" in summary_path.read_text()
    assert "LIMITED RUN" in (out / "report.html").read_text()
    assert "LIMITED RUN" in (out / "summary.md").read_text()


def _interrupted(variant: Any, spec: Any, out: Path) -> None:
    """A run of `variant` stopped by Ctrl-C after its third answer (state: running)."""
    seen = []

    def on_item() -> None:
        seen.append(1)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_variant("prod.v1 east", variant, spec, out, on_item=on_item)


def test_an_interrupted_served_run_resumes_only_into_its_own_file_and_while_fresh(
    heads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from evalcliff.paths import cache_dir

    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    spec = load_suite(str(heads))
    week1, week2 = tmp_path / "prod-week1.parquet", tmp_path / "prod-week2.parquet"
    with FakeServer(answer="week1") as server:
        variant = resolve_variant("prod.v1 east", _served_config(tmp_path, server.url, 1))
        _interrupted(variant, spec, week1)
        asked = server.total
        server.answer, server.fingerprint = "week2", "fp-2"
        # another output file (the next week's cron run): nothing of the partial run is used
        other = run_variant("prod.v1 east", variant, spec, week2)
        assert server.total == asked + 8
        assert set(read_results(week2)["output"]) == {"week2"}
        assert other.header.perf.requests_resumed == 0
        assert "not resuming the interrupted run" in capfd.readouterr().err
        # the same file, soon after: it resumes, and says how many answers it took over
        _interrupted(variant, spec, week1)
        asked = server.total
        again = run_variant("prod.v1 east", variant, spec, week1)
        assert server.total - asked == 8 - again.header.perf.requests_resumed
        assert again.header.perf.requests_resumed >= 3
        # the same file, but the partial run's last answer is older than the limit
        _interrupted(variant, spec, week1)
        rdir = next((cache_dir() / "runs").iterdir())
        old = time.time() - 7 * 3600
        for p in rdir.iterdir():
            os.utime(p, (old, old))
        asked = server.total
        late = run_variant("prod.v1 east", variant, spec, week1)
        assert server.total == asked + 8 and late.header.perf.requests_resumed == 0
        assert "h old (limit 6 h)" in capfd.readouterr().err


def test_answers_from_two_servers_in_one_run_stop_the_verdict(
    heads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalcliff.compare import compare_artifacts
    from evalcliff.gate import Policy
    from evalcliff.results import read_run

    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    spec = load_suite(str(heads))
    out, ref = tmp_path / "prod.parquet", tmp_path / "ref.parquet"
    with FakeServer(answer="x") as server:
        variant = resolve_variant("prod.v1 east", _served_config(tmp_path, server.url, 1))
        run_variant("prod.v1 east", variant, spec, ref)
        server.fail_next = 2  # two items are left to ask when the run is interrupted
        _interrupted(variant, spec, out)
        server.fingerprint = "fp-2"  # the server was upgraded before the rerun
        server.delay_s = 0.2  # and is slower: only this process's answers are its latency
        mixed = run_variant("prod.v1 east", variant, spec, out)
    assert 0 < mixed.header.perf.requests_resumed < 8
    assert (mixed.header.perf.latency_s.p50 or 0) >= 0.2
    server_info = mixed.header.model.server
    assert server_info is not None and server_info.system_fingerprints == ["fp-1", "fp-2"]
    summary = compare_artifacts(read_run(ref), read_run(out), Policy())
    assert summary.verdict == "inconclusive"
    assert any(r.startswith("MIXED SERVER: the cand run") for r in summary.reasons)
    clean = compare_artifacts(read_run(ref), read_run(ref), Policy())
    assert not any("MIXED SERVER" in r for r in clean.reasons)


def test_two_model_names_answered_by_one_served_model_stop_the_verdict(
    heads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalcliff.compare import compare_artifacts
    from evalcliff.gate import Policy

    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    spec = load_suite(str(heads))
    with FakeServer(answer="x") as server:
        cfg = tmp_path / "two.toml"
        body = f'backend = "openai"\nendpoints = ["{server.url}"]\nmax_retries = 0\n'
        cfg.write_text(
            f'[variants.base]\nmodel = "llama-fp16"\n{body}\n[variants.cand]\nmodel = "llama-q4"\n'
            + body
        )

        def runs() -> tuple[Any, Any]:
            for name in ("base", "cand"):
                variant = resolve_variant(name, cfg)
                run_variant(name, variant, spec, tmp_path / f"{name}.parquet")
            return read_run(tmp_path / "base.parquet"), read_run(tmp_path / "cand.parquet")

        server.answer_for = {it.prompt: str(it.target) for it in build_items(spec, spec.seed)}
        server.model = "the-only-model"  # a server that ignores the model asked for
        base, cand = runs()
        summary = compare_artifacts(base, cand, Policy(margin=0.5))
        assert base.header is not None and base.header.model.server is not None
        assert base.header.model.server.answered_by == ["the-only-model"]
        assert summary.verdict == "inconclusive" and summary.exit_code == 3
        assert summary.reasons[0].startswith("SAME SERVED MODEL: base asked for 'llama-fp16'")
        server.model = None  # a server that does not say: nothing to doubt on that ground
        base, cand = runs()
        again = compare_artifacts(base, cand, Policy(margin=0.5))
        assert again.verdict == "go", again.reasons


def test_one_alias_sent_for_two_files_is_no_doubt(
    heads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two GGUF files both named model.gguf are served under one alias and answer with it:
    what was *sent* is the same on both sides, so the served names prove nothing."""
    from evalcliff.compare import served_doubts
    from evalcliff.schema.run import RunArtifact, ServerInfo

    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    spec = load_suite(str(heads))
    with FakeServer(answer="x") as server:
        variant = resolve_variant("prod.v1 east", _served_config(tmp_path, server.url, 1))
        run_variant("prod.v1 east", variant, spec, tmp_path / "r.parquet")
    run = read_run(tmp_path / "r.parquet")
    assert run.header is not None

    def side(path: str, sent: str) -> Any:
        header = run.header.model_copy(  # type: ignore[union-attr]
            update={
                "settings": {**run.header.settings, "model": path},  # type: ignore[union-attr]
                "model": run.header.model.model_copy(  # type: ignore[union-attr]
                    update={"model_name": sent, "server": ServerInfo(answered_by=["model"])}
                ),
            }
        )
        return RunArtifact(run.path, header, run.results)

    same_alias = served_doubts(
        side("/m/f16/model.gguf", "model"), side("/m/q4/model.gguf", "model")
    )
    assert same_alias == []
    two_names = served_doubts(side("/m/f16.gguf", "f16"), side("/m/q4.gguf", "q4"))
    assert two_names and two_names[0].startswith("SAME SERVED MODEL: base asked for 'f16'")


def test_a_server_change_across_a_resume_is_told_from_a_fleet(tmp_path: Path) -> None:
    import json

    from evalcliff.runner import journal
    from evalcliff.runner.run import server_change

    def metrics(records: dict[str, tuple[str | None, str | None]]) -> Any:
        path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.jsonl"
        lines = [
            json.dumps({"hash": h, "served_model": m, "fingerprint": f})
            for h, (m, f) in records.items()
        ]
        path.write_text("\n".join(lines) + "\n")
        return journal.read_records(path)  # as the runner reads the backend's records

    hashes = {f"i{k}": f"h{k}" for k in range(4)}
    before = {"h0", "h1"}
    # two replicas behind one endpoint, answering both processes: no change
    fleet = metrics({"h0": ("m", "r1"), "h1": ("m", "r2"), "h2": ("m", "r2"), "h3": ("m", "r1")})
    assert server_change(fleet, hashes, before) is None
    # an upgrade between the two processes
    upgrade = metrics({"h0": ("m", "v1"), "h1": ("m", "v1"), "h2": ("m", "v2"), "h3": ("m", "v2")})
    assert server_change(upgrade, hashes, before) == "fingerprint v1 -> v2"
    # a model swapped on a server that sends no fingerprint (vLLM)
    swap = metrics(
        {"h0": ("old", None), "h1": ("old", None), "h2": ("new", None), "h3": ("new", None)}
    )
    assert server_change(swap, hashes, before) == "model old -> new"
    # nothing resumed, or nothing new: nothing to compare
    assert server_change(upgrade, hashes, set()) is None
    assert server_change(upgrade, hashes, set(hashes.values())) is None


def test_two_servers_that_name_their_models_alike_are_no_doubt(
    heads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalcliff.compare import compare_artifacts
    from evalcliff.gate import Policy

    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    spec = load_suite(str(heads))
    answers = {it.prompt: str(it.target) for it in build_items(spec, spec.seed)}
    with FakeServer() as one, FakeServer() as two:
        cfg = tmp_path / "two.toml"
        lines = []
        for name, model, server in (("base", "llama-fp16", one), ("cand", "llama-q4", two)):
            server.answer_for, server.model = answers, "gpt-3.5-turbo"  # a default alias
            lines.append(
                f'[variants.{name}]\nbackend = "openai"\nmodel = "{model}"\n'
                f'endpoints = ["{server.url}"]\nmax_retries = 0\n'
            )
        cfg.write_text("\n".join(lines))
        for name in ("base", "cand"):
            run_variant(name, resolve_variant(name, cfg), spec, tmp_path / f"{name}.parquet")
    base, cand = read_run(tmp_path / "base.parquet"), read_run(tmp_path / "cand.parquet")
    assert compare_artifacts(base, cand, Policy(margin=0.5)).verdict == "go"


def test_a_sequential_run_keeps_each_look_s_server_change() -> None:
    from evalcliff.schema.run import ServerInfo
    from evalcliff.sequential import merged_model
    from tests.cli.test_cli import _header

    def look(fps: list[str], change: str | None = None) -> Any:
        h = _header("v")
        server = ServerInfo(answered_by=["m"], system_fingerprints=fps, changed_on_resume=change)
        return h.model_copy(update={"model": h.model.model_copy(update={"server": server})})

    steady = merged_model([look(["a"]), look(["a", "b"])])
    assert steady.server is not None and steady.server.changed_on_resume is None
    assert steady.server.system_fingerprints == ["a", "b"]
    upgraded = merged_model([look(["a"]), look(["b"])])
    assert upgraded.server is not None
    assert upgraded.server.changed_on_resume == "fingerprint a -> b between looks 1, 2"
    resumed = merged_model([look(["a"], "fingerprint a -> c"), look(["a"])])
    assert resumed.server is not None and resumed.server.changed_on_resume == "fingerprint a -> c"
