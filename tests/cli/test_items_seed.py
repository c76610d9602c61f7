"""`run --items DIR` takes the build's seed: it pairs with `run --seed N` over the same build."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from evalcliff.cli.main import cli
from evalcliff.results.io import read_run

SEED = 5  # not the mini suite's own seed (11)


def _run(runner: CliRunner, suite: Path, config: Path, out: Path, *extra: str) -> None:
    args = ["run", "good", "--suite", str(suite), "--config", str(config), "--out", str(out)]
    res = runner.invoke(cli, [*args, *extra])
    assert res.exit_code == 0, res.output


def _build(runner: CliRunner, suite: Path, out: Path) -> Path:
    """`suites build SUITE --seed SEED --out OUT`."""
    res = runner.invoke(
        cli, ["suites", "build", str(suite), "--seed", str(SEED), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    return out


def test_an_items_run_pairs_with_a_seed_run_of_the_same_build(
    tmp_path: Path, mini_suite: Path, mock_config: Path
) -> None:
    runner = CliRunner()
    build = _build(runner, mini_suite, tmp_path / "items_s5")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    _run(runner, mini_suite, mock_config, a, "--items", str(build))
    _run(runner, mini_suite, mock_config, b, "--seed", str(SEED))
    ha, hb = read_run(a).header, read_run(b).header
    assert ha.seed == hb.seed == SEED
    assert ha.suite == hb.suite and ha.suite.seed == SEED
    assert ha.run_key == hb.run_key  # the same run, however its items were obtained
    res = runner.invoke(
        cli, ["compare", "--base", str(a), "--cand", str(b), "--out", str(tmp_path / "cmp")]
    )
    assert res.exit_code != 2, res.output
    assert "cannot be paired" not in res.output

    # the same --seed as the build's is accepted; another one is still refused
    _run(runner, mini_suite, mock_config, tmp_path / "c.parquet", "--items", str(build),
         "--seed", str(SEED))  # fmt: skip
    res = runner.invoke(
        cli,
        ["run", "good", "--suite", str(mini_suite), "--config", str(mock_config),
         "--out", str(tmp_path / "d.parquet"), "--items", str(build), "--seed", "6"],
    )  # fmt: skip
    assert res.exit_code == 2 and "built with seed 5, not --seed 6" in res.output, res.output


def test_a_report_over_items_pairs_with_a_seed_run_of_the_same_build(
    tmp_path: Path, mini_suite: Path, mock_config: Path
) -> None:
    runner = CliRunner()
    build = _build(runner, mini_suite, tmp_path / "items_s5")
    b = tmp_path / "b.parquet"
    _run(runner, mini_suite, mock_config, b, "--seed", str(SEED))
    for looks in ([], ["--sequential", "2"]):
        runs = tmp_path / f"runs{len(looks)}"
        res = runner.invoke(
            cli,
            ["report", "--base", "good", "--cand", "good", "--suite", str(mini_suite),
             "--config", str(mock_config), "--items", str(build), "--runs-dir", str(runs),
             "--out", str(tmp_path / f"rep{len(looks)}"), *looks],
        )  # fmt: skip
        assert res.exit_code in (0, 3), res.output
        (a,) = [p for p in (runs / "mini").glob("good*.parquet")]
        ha = read_run(a).header
        assert ha.seed == SEED and ha.suite.seed == SEED
        if not looks:
            assert ha.run_key == read_run(b).header.run_key
            res = runner.invoke(
                cli, ["compare", "--base", str(a), "--cand", str(b), "--out", str(tmp_path / "c")]
            )
            assert "cannot be paired" not in res.output and res.exit_code != 2, res.output
