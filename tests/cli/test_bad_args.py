"""Battery: malformed CLI arguments and results files stop before any work (or before any
verdict) with exit 2 and one line on stderr naming the file or option, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.results import write_results

ROW = {
    "item_id": "head/a/0",
    "suite": "s",
    "slice": "head",
    "stratum": "a",
    "cluster_id": "c0",
    "prompt_hash": "p0",
    "output": "x",
    "target": "x",
    "score": 1.0,
    "correct": True,
    "catastrophic": False,
    "error": None,
    "latency_s": 0.1,
}


def _rows(n: int = 40) -> list[dict[str, object]]:
    return [
        {**ROW, "item_id": f"head/a/{k}", "cluster_id": f"c{k}", "prompt_hash": f"p{k}"}
        for k in range(n)
    ]


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _with_header(path: Path, header: bytes) -> Path:
    table = pa.Table.from_pandas(pd.DataFrame(_rows()), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"evalcliff.header"] = header
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path


def _bad_results(tmp: Path, kind: str) -> Path:
    """A results file that is wrong in one way."""
    rows = _rows()
    if kind == "missing_file":
        return tmp / "nope.parquet"
    if kind == "wrong_suffix":
        return _jsonl(tmp / "r.csv", rows)
    if kind == "not_utf8":
        p = tmp / "r.jsonl"
        p.write_bytes(b'{"item_id": "\xff\xfe"}\n')
        return p
    if kind == "not_json":
        p = tmp / "r.jsonl"
        p.write_text("{not json\n")
        return p
    if kind == "not_parquet":
        p = tmp / "r.parquet"
        p.write_bytes(b"PAR1 garbage")
        return p
    if kind == "missing_column":
        return _jsonl(tmp / "r.jsonl", [{k: v for k, v in r.items() if k != "score"} for r in rows])
    if kind == "score_text":
        return _jsonl(tmp / "r.jsonl", [{**r, "score": "high"} for r in rows])
    if kind == "score_above_1":
        return _jsonl(tmp / "r.jsonl", [{**r, "score": 1.5} for r in rows])
    if kind == "score_negative":
        return _jsonl(tmp / "r.jsonl", [{**r, "score": -0.1} for r in rows])
    if kind == "score_null":
        return _jsonl(tmp / "r.jsonl", [{**r, "score": None} for r in rows])
    if kind == "correct_text":
        return _jsonl(tmp / "r.jsonl", [{**r, "correct": "yes"} for r in rows])
    if kind == "correct_null":
        return _jsonl(tmp / "r.jsonl", [{**r, "correct": None} for r in rows])
    if kind == "duplicate_id":
        return _jsonl(tmp / "r.jsonl", [*rows, rows[0]])
    if kind == "empty":
        p = tmp / "r.jsonl"
        p.write_text("")
        return p
    if kind == "header_not_json":
        return _with_header(tmp / "r.parquet", b"{oops")
    if kind == "header_not_object":
        return _with_header(tmp / "r.parquet", b"[1, 2]")
    if kind == "header_no_version":
        return _with_header(tmp / "r.parquet", b'{"variant": "x"}')
    if kind == "header_future_version":
        return _with_header(tmp / "r.parquet", b'{"schema_version": 99}')
    if kind == "header_old_version":
        return _with_header(tmp / "r.parquet", b'{"schema_version": 1, "variant": "x"}')
    if kind == "header_wrong_types":
        return _with_header(
            tmp / "r.parquet", b'{"schema_version": 2, "run_key": 5, "variant": [], "suite": 3}'
        )
    if kind == "header_extra_key":
        good = json.loads(_valid_header())
        good["surprise"] = 1
        return _with_header(tmp / "r.parquet", json.dumps(good).encode())
    raise AssertionError(kind)


def _valid_header() -> str:
    from evalcliff.schema import RunHeader, SuiteManifest

    suite = SuiteManifest(name="s", version=1, seed=0, content_hash="0", n_items=40, slices={})
    return RunHeader(run_key="k", variant="v", backend="mock", suite=suite).model_dump_json()


RESULT_KINDS = [
    "missing_file", "wrong_suffix", "not_utf8", "not_json", "not_parquet", "missing_column",
    "score_text", "score_above_1", "score_negative", "score_null", "correct_text",
    "correct_null", "duplicate_id", "empty", "header_not_json", "header_not_object",
    "header_no_version", "header_future_version", "header_old_version", "header_wrong_types",
    "header_extra_key",
]  # fmt: skip


def _one_line_exit_2(result: object) -> str:
    code = result.exit_code  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert code == 2, (code, result.output, err)  # type: ignore[attr-defined]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return str(lines[0])


@pytest.mark.parametrize("kind", RESULT_KINDS)
@pytest.mark.parametrize("side", ["base", "cand"])
def test_bad_results_file_is_one_line_exit_2(tmp_path: Path, kind: str, side: str) -> None:
    good = write_results(pd.DataFrame(_rows()), tmp_path / "good.parquet")
    bad = _bad_results(tmp_path, kind)
    base, cand = (bad, good) if side == "base" else (good, bad)
    args = ["compare", "--base", str(base), "--cand", str(cand), "--out", str(tmp_path / "o")]
    line = _one_line_exit_2(CliRunner().invoke(cli, args))
    assert str(bad.name) in line or "results" in line


def _suite(tmp: Path) -> Path:
    p = tmp / "s.yaml"
    p.write_text(
        "name: s\nversion: 1\nseed: 1\nslices:\n  head:\n    generator: head\n"
        "    scorer: exact\n    weight: 1.0\n    strata: {task: [succ]}\n"
        "    items_per_stratum: 2\n"
    )
    return p


def _cfg(tmp: Path) -> Path:
    p = tmp / "v.toml"
    p.write_text('[variants.m]\nbackend = "mock"\n')
    return p


ARG_CASES: list[tuple[str, list[str], str]] = [
    ("run_limit_0", ["run", "m", "--limit", "0"], "--limit"),
    ("run_limit_negative", ["run", "m", "--limit", "-2"], "--limit"),
    ("run_limit_text", ["run", "m", "--limit", "ten"], "--limit"),
    ("run_out_csv", ["run", "m", "--out", "x.csv"], ".parquet"),
    ("run_out_no_suffix", ["run", "m", "--out", "results"], ".parquet"),
    ("run_unknown_variant", ["run", "nope"], "unknown variant"),
    ("run_unknown_suite", ["run", "m", "--suite", "nope"], "unknown suite"),
    ("run_missing_config", ["run", "m", "--config", "missing.toml"], "missing.toml"),
    ("run_items_missing", ["run", "m", "--items", "no_such_dir"], "items.jsonl"),
    ("run_items_and_tokenizer", ["run", "m", "--items", ".", "--tokenizer", "t"], "--tokenizer"),
    ("report_jobs_0", ["report", "--base", "m", "--cand", "m", "--jobs", "0"], "--jobs"),
    ("report_limit_0", ["report", "--base", "m", "--cand", "m", "--limit", "0"], "--limit"),
    ("report_unknown_cand", ["report", "--base", "m", "--cand", "zz"], "unknown variant"),
    ("report_missing_policy", ["report", "--base", "m", "--cand", "m", "--policy", "p.yaml"],
     "p.yaml"),
    ("noise_batch_0", ["noise", "m", "--batch-size", "0"], "--batch-size"),
    ("noise_limit_0", ["noise", "m", "--limit", "0"], "--limit"),
    ("compare_missing_out", ["compare", "--base", "a.parquet", "--cand", "b.parquet"], "--out"),
    ("suites_show_missing", ["suites", "show", "missing.yaml"], "missing.yaml"),
    ("plan_margin_0", ["plan", "--margin", "0", "--flip-rate", "0.05"], "margin"),
    ("plan_flip_rate_2", ["plan", "--margin", "0.02", "--flip-rate", "2"], "flip"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "args", "named"), ARG_CASES, ids=[c[0] for c in ARG_CASES])
def test_bad_cli_argument_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, args: list[str], named: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if args[0] in ("run", "report", "noise") and "--suite" not in args:
        args = [*args, "--suite", str(_suite(tmp_path))]
    if args[0] in ("run", "report", "noise") and "--config" not in args:
        args = [*args, "--config", str(_cfg(tmp_path))]
    result = CliRunner().invoke(cli, args)
    if result.exit_code == 2 and not result.stderr.strip():  # click usage errors
        pytest.fail(result.output)
    err = result.stderr
    assert result.exit_code == 2, (result.exit_code, result.output, err)
    assert "Traceback" not in err
    assert named.lower() in err.lower(), err
    assert not (tmp_path / "reports").exists() or case.startswith("report"), "no work was done"


def test_bad_divergence_file_is_one_line_exit_2(tmp_path: Path) -> None:
    good = write_results(pd.DataFrame(_rows()), tmp_path / "good.parquet")
    for content in (b"garbage", None):
        div = tmp_path / "div.parquet"
        if content is None:
            pd.DataFrame({"item_id": ["x"], "kl": [0.1]}).to_parquet(div)
        else:
            div.write_bytes(content)
        args = ["compare", "--base", str(good), "--cand", str(good), "--out"]
        args += [str(tmp_path / "o"), "--divergence", str(div)]
        line = _one_line_exit_2(CliRunner().invoke(cli, args))
        assert "div.parquet" in line


def test_unwritable_out_fails_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    args = ["report", "--base", "m", "--cand", "m", "--suite", str(_suite(tmp_path))]
    args += ["--config", str(_cfg(tmp_path)), "--out", str(blocker / "sub")]
    args += ["--runs-dir", str(tmp_path / "runs")]
    line = _one_line_exit_2(CliRunner().invoke(cli, args))
    assert "--out" in line
    assert not (tmp_path / "runs").exists(), "nothing ran"
    run_args = ["run", "m", "--suite", str(_suite(tmp_path)), "--config", str(_cfg(tmp_path))]
    line = _one_line_exit_2(
        CliRunner().invoke(cli, [*run_args, "--out", str(blocker / "r.parquet")])
    )
    assert "cannot write" in line
