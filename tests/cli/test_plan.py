"""`evalcliff plan`: hand-computed sizes, JSON output, one-line errors with exit 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from evalcliff.cli.main import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_hand_computed_case(runner: CliRunner) -> None:
    # z = 1.959964 + 0.841621 = 2.801585; n = (2.801585 * sqrt(0.05) / 0.02)^2 = 981.11 -> 982
    res = runner.invoke(cli, ["plan", "--margin", "0.02", "--flip-rate", "0.05"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("982 paired items per slice")
    assert "981.11" in res.output
    assert "sqrt(f - d^2)" in res.output  # the formula is shown


def test_json_with_clusters(runner: CliRunner) -> None:
    # Design effect 1 + (10 - 1) * 0.1 = 1.9: ceil(981.11 * 1.9) = ceil(1864.11) = 1865 items.
    res = runner.invoke(
        cli,
        [
            "plan",
            "--margin",
            "0.02",
            "--flip-rate",
            "0.05",
            "--cluster-size",
            "10",
            "--icc",
            "0.1",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    plan = json.loads(res.output)
    assert plan["design_effect"] == pytest.approx(1.9)
    assert plan["items"] == 1865
    assert plan["clusters"] == 187
    assert plan["n_independent"] == pytest.approx(981.11, abs=0.01)
    assert "formula" in plan


def test_expected_delta_and_power(runner: CliRunner) -> None:
    # d = -0.01: variance 0.05 - 0.0001 = 0.0499, gap 0.01; z = 1.959964 + 1.281552 (power 0.9)
    # n = (3.241516 * sqrt(0.0499) / 0.01)^2 = 5243.2 -> 5244
    res = runner.invoke(
        cli,
        [
            "plan",
            "--margin",
            "0.02",
            "--flip-rate",
            "0.05",
            "--expected-delta",
            "-0.01",
            "--power",
            "0.9",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["items"] == 5244


@pytest.mark.parametrize(
    "args",
    [
        ["--margin", "0", "--flip-rate", "0.05"],
        ["--margin", "0.02", "--flip-rate", "1.5"],
        ["--margin", "0.02", "--flip-rate", "0.05", "--power", "1"],
        ["--margin", "0.02", "--flip-rate", "0.05", "--confidence", "0"],
        ["--margin", "0.02", "--flip-rate", "0.05", "--icc", "-0.1"],
        ["--margin", "0.02", "--flip-rate", "0.05", "--cluster-size", "0"],
        ["--margin", "0.02", "--flip-rate", "0.01", "--expected-delta", "-0.05"],
        ["--margin", "0.02", "--flip-rate", "0.05", "--expected-delta", "-0.02"],
        ["--margin", "nan", "--flip-rate", "0.05"],
    ],
)
def test_bad_input_exits_2_with_one_line(runner: CliRunner, args: list[str]) -> None:
    res = runner.invoke(cli, ["plan", *args])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("evalcliff: error: plan:"), res.output


def test_missing_required_option_is_a_usage_error(runner: CliRunner) -> None:
    res = runner.invoke(cli, ["plan", "--margin", "0.02"])
    assert res.exit_code == 2
