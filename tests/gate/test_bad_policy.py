"""A battery of malformed policy files: each is refused with one line naming the file and
the field (or line) at fault, before any work starts (CLI exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from evalcliff.errors import EvalcliffError
from evalcliff.gate import compare_runs, load_policy

# (id, file content, text the one-line error must contain besides the file name)
BAD: list[tuple[str, str | bytes, str]] = [
    ("confidence-below-0.5", "confidence: 0.4\n", "confidence: "),
    ("confidence-1", "confidence: 1.0\n", "confidence: "),
    ("confidence-above-0.999", "confidence: 0.9999\n", "confidence: "),
    ("confidence-text", "confidence: high\n", "confidence: "),
    ("confidence-null", "confidence: null\n", "confidence: "),
    ("confidence-nan", "confidence: .nan\n", "confidence: must be a finite number"),
    ("margin-0", "margin: 0\n", "margin: "),
    ("margin-1", "margin: 1\n", "margin: "),
    ("margin-negative", "margin: -0.01\n", "margin: "),
    ("margin-inf", "margin: .inf\n", "margin: must be a finite number"),
    ("margin-bool", "margin: true\n", "margin: "),
    ("margin-quoted", 'margin: "0.02"\n', "margin: "),
    ("margin-list", "margin: [0.02]\n", "margin: "),
    ("inconclusive-unknown", "inconclusive: maybe\n", "inconclusive: "),
    ("unreliable-pass-unknown", "unreliable_pass: fail\n", "unreliable_pass: "),
    ("uninformative-unknown", "uninformative: pass\n", "uninformative: "),
    ("catastrophic-above-1", "max_catastrophic_increase: 1.5\n", "max_catastrophic_increase: "),
    ("catastrophic-negative", "max_catastrophic_increase: -0.1\n", "max_catastrophic_increase"),
    ("error-rate-above-1", "max_error_rate: 2\n", "max_error_rate: "),
    ("floor-1", "min_base_score: 1\n", "min_base_score: "),
    ("resamples-too-few", "n_resamples: 10\n", "n_resamples: "),
    ("resamples-fraction", "n_resamples: 1000.5\n", "n_resamples: "),
    ("seed-negative", "seed: -1\n", "seed: "),
    ("unknown-top-key", "margn: 0.03\n", "margn: unknown key 'margn'"),
    ("slices-list", "slices: [head]\n", "slices: "),
    ("slice-scalar", "slices: {head: 0.01}\n", "slices.head: "),
    ("slice-null", "slices: {head: null}\n", "slices.head: "),
    ("slice-int-name", "slices: {1: {margin: 0.1}}\n", "slices.1"),
    ("slice-margin-0", "slices: {head: {margin: 0}}\n", "slices.head.margin: "),
    ("slice-margin-above-1", "slices: {head: {margin: 1.2}}\n", "slices.head.margin: "),
    ("slice-weight-negative", "slices: {head: {weight: -1}}\n", "slices.head.weight: "),
    ("slice-weight-inf", "slices: {head: {weight: .inf}}\n", "slices.head.weight: "),
    ("slice-unknown-key", "slices: {head: {wieght: 0.5}}\n", "slices.head.wieght: unknown key"),
    (
        "slice-catastrophic-above-1",
        "slices: {head: {max_catastrophic_increase: 2}}\n",
        "slices.head.max_catastrophic_increase: ",
    ),
    (
        "slice-error-rate-negative",
        "slices: {head: {max_error_rate: -0.5}}\n",
        "slices.head.max_error_rate: ",
    ),
    ("slice-floor-nan", "slices: {head: {min_base_score: .nan}}\n", "slices.head.min_base_score"),
    ("duplicate-top-key", "margin: 0.02\nconfidence: 0.9\nmargin: 0.05\n", "line 3: duplicate key"),
    (
        "duplicate-slice",
        "slices:\n  head: {margin: 0.01}\n  head: {margin: 0.05}\n",
        "line 3: duplicate key 'head'",
    ),
    ("duplicate-slice-key", "slices:\n  head: {margin: 0.01, margin: 0.05}\n", "duplicate key"),
    ("not-utf8", b"margin: 0.02\n# caf\xe9\n", "not UTF-8 (byte 0xe9"),
    ("utf16", "margin: 0.02\n".encode("utf-16"), "not UTF-8"),
    ("yaml-syntax", "margin: [0.02\n", "line 2: "),
    ("yaml-tab", "slices:\n\thead: {}\n", "line 2: "),
    ("top-level-list", "- 0.02\n", "(top level): a policy must be a mapping"),
    ("top-level-scalar", "0.02\n", "(top level): a policy must be a mapping"),
    ("python-tag", "margin: !!python/object/apply:os.system ['true']\n", "line 1: "),
]


@pytest.mark.parametrize(("text", "needle"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_policy_is_one_line_naming_file_and_field(
    tmp_path: Path, text: str | bytes, needle: str
) -> None:
    path = tmp_path / "gate-policy.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(EvalcliffError) as exc:
        load_policy(path)
    msg = str(exc.value)
    assert msg.startswith(str(path) + ": "), msg
    assert needle in msg, msg
    assert "\n" not in msg and len(msg) < 400, msg


def test_the_battery_is_large() -> None:
    assert len(BAD) >= 25


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(EvalcliffError, match="policy file not found"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(EvalcliffError, match=str(tmp_path)):
        load_policy(tmp_path)


def test_a_slice_the_runs_lack_is_named_with_the_known_slices(
    tmp_path: Path, make_run: Callable[..., pd.DataFrame]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("slices:\n  long_contxt: {margin: 0.05}\n")
    base = make_run({"head": 50, "long_context": 50})
    with pytest.raises(EvalcliffError) as exc:
        compare_runs(base, base, load_policy(path))
    assert str(exc.value) == (
        f"{path}: slices.long_contxt: no slice 'long_contxt' in the runs (known: head,"
        " long_context); fix the name or remove it"
    )


def test_cli_exit_2_on_a_bad_policy(tmp_path: Path, make_run: Callable[..., pd.DataFrame]) -> None:
    from evalcliff.cli.main import cli
    from evalcliff.results import write_results

    base = write_results(make_run({"head": 50}), tmp_path / "b.parquet")
    for text in ("confidence: 0.3\n", "slices: {tail: {margin: 0.1}}\n"):
        policy = tmp_path / "p.yaml"
        policy.write_text(text)
        args = ["compare", "--base", str(base), "--cand", str(base), "--policy", str(policy)]
        res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "r")])
        assert res.exit_code == 2, res.output
        assert str(policy) in res.output and "Traceback" not in res.output
        assert not (tmp_path / "r" / "summary.json").exists()
