"""An `lm_eval_task` slice whose requests the server fails: error rows, never wrong answers.

The openai backend answers `ERROR_PREFIX + reason` for a request that failed for good; lm-eval
would score that text as a wrong answer (score 0, no error), hiding it from n_errors and the
gate's max_error_rate."""

import json
import math
from pathlib import Path
from typing import Any

import pytest
from sqlitedict import SqliteDict

from evalcliff.config.variants import resolve_variant
from evalcliff.errors import ERROR_PREFIX
from evalcliff.results import read_results
from evalcliff.runner import lmeval, run_variant
from evalcliff.runner.run import RunOutcome
from evalcliff.suites.spec import load_suite
from tests.runner.fake_server import FakeServer
from tests.runner.test_lm_eval_task_slice import _suite


def _served(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "served.toml"
    cfg.write_text(
        f'[variants.served]\nbackend = "openai"\nmodel = "fake-model"\nendpoints = ["{url}"]\n'
        "stream = false\nconcurrency = 1\nmax_retries = 0\ntimeout_s = 10\n"
    )
    return cfg


def test_failed_requests_of_an_lm_eval_task_are_error_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))
    spec = load_suite(str(_suite(tmp_path)))
    out = tmp_path / "r.parquet"
    with FakeServer(answer="right") as server:
        variant = resolve_variant("served", _served(tmp_path, server.url))
        server.fail_next = 2  # HTTP 500 with no retries: two requests fail for good
        first: RunOutcome = run_variant("served", variant, spec, out)
        df = read_results(out)
        errored = df[df["error"].notna()]
        assert len(errored) == 2 == first.n_errors
        assert all(not e.startswith(ERROR_PREFIX) and e for e in errored["error"])
        assert set(errored["output"]) == {""}
        assert not errored["correct"].any() and (errored["score"] == 0.0).all()
        ok = df[df["error"].isna()]
        assert len(ok) == 4  # the mock answers "right": docs 0, 2, 4 expect it
        assert list(ok["correct"]) == [int(i.split("/")[1]) % 2 == 0 for i in ok["item_id"]]
        # the runner purges failures from lm-eval's cache: none is replayed by a rerun
        dbs = list((tmp_path / "cache").rglob("requests*.db"))
        assert dbs
        for db in dbs:
            with SqliteDict(str(db), outer_stack=False) as cache:
                assert len(cache) == 4
                assert not any(str(v).startswith(ERROR_PREFIX) for v in cache.values())
        second = run_variant("served", variant, spec, out)
        assert second.n_errors == 0
    assert read_results(out)["error"].isna().all()


def _sample(doc_id: int, resps: Any, filtered: Any, metric: float = 0.0) -> dict[str, Any]:
    return {
        "doc_id": doc_id,
        "arguments": [(f"q{doc_id}", {})],  # as simple_evaluate returns it (unserialized)
        "target": "right",
        "resps": resps,
        "filtered_resps": filtered,
        "exact_match": metric,
        "acc": metric,
    }


def test_lm_eval_rows_marks_error_markers_in_any_response(tmp_path: Path) -> None:
    spec = load_suite(str(_suite(tmp_path)))
    task = lmeval.lm_eval_slices(spec)["echo"]
    err = ERROR_PREFIX + "HTTPError: 500 overloaded"
    samples = {
        task: [
            _sample(0, [["right"]], ["right"], 1.0),
            _sample(1, [[err]], [err]),
            # a filter (e.g. a regex extraction) hid the marker: the raw response still has it
            _sample(2, [[err]], ["[invalid]"]),
            # a loglikelihood-style sample: tuples, one of its requests failed
            _sample(3, [[(-1.0, True)], [err]], [(-1.0, True), err]),
            _sample(4, [[(-1.0, True)], [(-2.0, False)]], [(-1.0, True), (-2.0, False)], 1.0),
        ]
    }
    rows = {r["item_id"]: r for r in lmeval.lm_eval_rows(spec, samples)}
    for k in (1, 2, 3):
        r = rows[f"echo/{k}"]
        assert r["error"] == "HTTPError: 500 overloaded", k
        assert r["output"] == "" and r["score"] == 0.0 and r["correct"] is False
    assert rows["echo/0"]["error"] is None and rows["echo/0"]["correct"] is True
    assert rows["echo/4"]["error"] is None and rows["echo/4"]["score"] == 1.0
    assert json.loads(rows["echo/4"]["output"])[0] == [-1.0, True]
    assert not any(math.isnan(r["score"]) for r in rows.values())
