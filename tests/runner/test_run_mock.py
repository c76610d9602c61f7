"""The runner through lm-eval with the deterministic mock backend (no model)."""

from pathlib import Path

import pandas as pd
import pytest

from evalcliff.config.variants import resolve_variant
from evalcliff.results import read_header, read_results
from evalcliff.runner import run_variant
from evalcliff.suites.spec import load_suite


def test_mock_run_writes_contract_rows(mini_suite: Path, mock_config: Path, tmp_path: Path) -> None:
    spec = load_suite(str(mini_suite))
    out = tmp_path / "good.parquet"
    outcome = run_variant("good", resolve_variant("good", mock_config), spec, out)
    df = read_results(out)
    assert outcome.n_items == len(df) == 30
    assert df["correct"].all() and (df["score"] == 1.0).all()
    assert not df["catastrophic"].any() and df["error"].isna().all()
    header = read_header(out)
    assert header is not None
    assert header.variant == "good" and header.backend == "mock"
    assert header.suite.name == "mini" and len(header.suite.content_hash) == 16
    assert header.n_items == 30 and header.n_errors == 0 and header.limit is None
    assert "lm_eval" in header.packages


def test_mock_errors_are_scored_wrong(mini_suite: Path, mock_config: Path, tmp_path: Path) -> None:
    spec = load_suite(str(mini_suite))
    out = tmp_path / "bad.parquet"
    run_variant("bad", resolve_variant("bad", mock_config), spec, out)
    df = read_results(out)
    assert 0 < (~df["correct"]).sum() < len(df)
    wrong = df[~df["correct"]]
    assert (wrong["output"].str.strip() == "wrong").all()
    # "wrong" has no number and is Latin script: catastrophic under those slices' rules
    assert wrong[wrong["slice"] == "multihop_arith"]["catastrophic"].all()
    assert wrong[wrong["slice"] == "low_resource"]["catastrophic"].all()


def test_finished_run_is_reused_and_resumes_from_cache(
    mini_suite: Path, mock_config: Path, tmp_path: Path
) -> None:
    spec = load_suite(str(mini_suite))
    v = resolve_variant("good", mock_config)
    out = tmp_path / "good.parquet"
    first = run_variant("good", v, spec, out)
    again = run_variant("good", v, spec, out)
    assert again.reused and not first.reused
    # a lost results file is rebuilt from the request cache without asking the model
    out.unlink()
    import evalcliff.backends.mock as mock

    calls: list[int] = []
    original = mock.MockLM.generate_until

    def counting(self, requests, disable_tqdm=False):  # type: ignore[no-untyped-def]
        calls.append(len(requests))
        return original(self, requests, disable_tqdm)

    mock.MockLM.generate_until = counting  # type: ignore[method-assign]
    try:
        run_variant("good", v, spec, out)
    finally:
        mock.MockLM.generate_until = original  # type: ignore[method-assign]
    assert calls == []
    pd.testing.assert_frame_equal(
        read_results(out).drop(columns="latency_s"), read_results(out).drop(columns="latency_s")
    )


def test_chat_prompting_wraps_prompts_in_the_template(
    mini_suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evalcliff.backends.mock as mock

    seen: list[str] = []
    original = mock.MockLM.generate_until

    def recording(self, requests, disable_tqdm=False):  # type: ignore[no-untyped-def]
        seen.extend(r.args[0] for r in requests)
        return original(self, requests, disable_tqdm)

    monkeypatch.setattr(mock.MockLM, "generate_until", recording)
    cfg = tmp_path / "chat.toml"
    cfg.write_text(
        '[variants.chatty]\nbackend = "mock"\nprompting = "chat"\n'
        'system_prompt = "Answer tersely."\n'
    )
    out = tmp_path / "chat.parquet"
    run_variant("chatty", resolve_variant("chatty", cfg), load_suite(str(mini_suite)), out)
    assert read_results(out)["correct"].all()
    header = read_header(out)
    assert header is not None and header.settings["prompting"] == "chat"
    assert len(seen) == 30
    assert all(c.startswith("<system>Answer tersely.</system><user>") for c in seen)
    assert all(c.endswith("<assistant>") for c in seen)


def test_a_run_leaves_the_garbage_collector_as_it_found_it(
    mini_suite: Path, mock_config: Path, tmp_path: Path
) -> None:
    import gc

    spec = load_suite(str(mini_suite))
    run_variant("good", resolve_variant("good", mock_config), spec, tmp_path / "g.parquet")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        run_variant("good", resolve_variant("good", mock_config), spec, tmp_path / "h.parquet")
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()
