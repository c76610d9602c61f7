"""What the file system refuses (a path that is a file, no permission, a full disk, stdout
on /dev/full) ends with exit 2 and one line naming the file, never a traceback from inside a
dependency; evalcliff's own errors keep theirs; a run whose file cannot be written says where
its answers are kept and what a rerun does."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from evalcliff.cli.main import _Group, cli
from evalcliff.errors import EvalcliffError
from evalcliff.paths import cache_dir
from evalcliff.results import read_run, write_results, write_run

ROW = {
    "suite": "s", "slice": "head", "stratum": "a", "output": "x", "target": "x", "score": 1.0,
    "correct": True, "catastrophic": False, "error": None, "latency_s": 0.1,
}  # fmt: skip
REPO = Path(__file__).resolve().parents[2]


def _rows(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {**ROW, "item_id": f"head/a/{k}", "cluster_id": f"c{k}", "prompt_hash": f"p{k}"}
            for k in range(n)
        ]
    )


def _group(body: Any) -> click.Group:
    """A group with evalcliff's error mapping and one command `go` that runs `body`."""

    @click.group(cls=_Group)
    def group() -> None:
        pass

    @group.command("go")
    def go() -> None:
        body()

    return group


def _invoke(body: Any) -> Any:
    return CliRunner().invoke(_group(body), ["go"])


def _one_line(res: Any) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    return str(lines[0])


# -- the top-level mapping -------------------------------------------------------------


def test_a_path_through_a_file_is_one_line_naming_it(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    line = _one_line(_invoke(lambda: (afile / "sub").mkdir(parents=True, exist_ok=True)))
    assert line.startswith("evalcliff: error: Not a directory: ")
    assert str(afile / "sub") in line and "a part of that path is a file" in line


def test_a_directory_path_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    line = _one_line(_invoke(lambda: afile.mkdir(parents=True, exist_ok=True)))
    assert line.startswith(f"evalcliff: error: File exists: {afile}")
    assert "it is a file, not a directory" in line


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "/srv/out/summary.json"),
         "Permission denied: /srv/out/summary.json"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/srv/out"), "Is a directory: /srv/out"),
        (OSError(errno.EROFS, "Read-only file system", "/mnt/ro/x"),
         "Read-only file system: /mnt/ro/x"),
        (OSError(errno.ENOSPC, "No space left on device", "/mnt/full/x"),
         "No space left on device: /mnt/full/x (free some space and rerun)"),
        (OSError(errno.EDQUOT, "Disk quota exceeded", "/home/u/x"),
         "Disk quota exceeded: /home/u/x (free some space and rerun)"),
    ],
)  # fmt: skip
def test_refusals_of_the_file_system_are_one_line(exc: OSError, words: str) -> None:
    def body() -> None:
        raise exc

    assert _one_line(_invoke(body)) == f"evalcliff: error: {words}; finished items are kept"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_without_a_file_name_names_the_file_being_written() -> None:
    def body() -> None:
        with open("/dev/full", "w") as f:  # noqa: PTH123 - the file object is what is named
            f.write("x")
            f.flush()

    line = _one_line(_invoke(body))
    assert line.startswith("evalcliff: error: No space left on device: /dev/full")


@pytest.mark.parametrize(
    "exc",
    [
        FileNotFoundError(errno.ENOENT, "No such file or directory", "/tmp/made-by-us"),
        OSError(errno.EBADF, "Bad file descriptor"),
        ValueError("a bug"),
    ],
)
def test_evalcliff_s_own_errors_keep_their_traceback(exc: Exception) -> None:
    def body() -> None:
        raise exc

    res = _invoke(body)
    assert res.exit_code == 2
    assert "Traceback" in res.output and "internal error (not a verdict)" in res.output


def test_a_closed_pipe_and_evalcliff_errors_are_as_before() -> None:
    def pipe() -> None:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def bad() -> None:
        raise EvalcliffError("x.yaml: bad")

    res = _invoke(pipe)
    assert res.exit_code == 2 and "a pipe it was writing to was closed" in res.output
    assert _one_line(_invoke(bad)) == "evalcliff: error: x.yaml: bad"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_stdout_on_a_full_device_is_one_line(tmp_path: Path, fmt: str) -> None:
    base = write_results(_rows(), tmp_path / "b.parquet")
    cand = write_results(_rows(), tmp_path / "c.parquet")
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVALCLIFF_CACHE": str(tmp_path / "cache")}
    with open("/dev/full", "w") as full:  # noqa: PTH123
        proc = subprocess.run(
            [sys.executable, "-m", "evalcliff.cli.main", "compare", "--base", str(base),
             "--cand", str(cand), "--out", str(tmp_path / "out"), "--format", fmt],
            stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("evalcliff: error: cannot write to stdout: No space left on device")
    assert (tmp_path / "out" / "summary.json").is_file()  # the report was written


# -- the cache directory ---------------------------------------------------------------


def test_a_cache_dir_that_is_a_file_names_evalcliff_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("EVALCLIFF_CACHE", str(afile))
    with pytest.raises(EvalcliffError, match=r"EVALCLIFF_CACHE=.*afile.*it is a file"):
        cache_dir()
    monkeypatch.setenv("EVALCLIFF_CACHE", str(afile / "sub"))
    with pytest.raises(EvalcliffError, match="a part of that path is a file"):
        cache_dir()
    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "fine"))
    assert cache_dir() == (tmp_path / "fine").resolve() and cache_dir().is_dir()


def test_run_with_a_cache_dir_that_is_a_file_is_one_line(
    tmp_path: Path, mini_suite: Path, mock_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("EVALCLIFF_CACHE", str(afile))
    out = tmp_path / "g.parquet"
    res = CliRunner().invoke(cli, ["run", "good", "--suite", str(mini_suite), "--config",
                                   str(mock_config), "--out", str(out)])  # fmt: skip
    line = _one_line(res)
    assert "EVALCLIFF_CACHE=" in line and "set EVALCLIFF_CACHE to a writable directory" in line


# -- the run's results file ------------------------------------------------------------


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    def full(*args: object, **kwargs: object) -> None:
        # what pyarrow raises when the disk fills while it writes
        raise OSError(
            errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device"
        )

    monkeypatch.setattr(pq, "write_table", full)


def test_a_full_disk_while_writing_the_run_keeps_its_answers_for_the_rerun(
    tmp_path: Path, mini_suite: Path, mock_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evalcliff.backends.mock as mock

    out = tmp_path / "runs" / "good.parquet"
    args = ["run", "good", "--suite", str(mini_suite), "--config", str(mock_config),
            "--out", str(out)]  # fmt: skip
    with monkeypatch.context() as m:
        _disk_full(m)
        res = CliRunner().invoke(cli, args)
    line = res.output.strip().splitlines()[-1]
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert line.startswith(f"evalcliff: error: {out}: cannot write the results file (No space")
    assert "kept in its run cache" in line and "without generating them again" in line
    assert not out.exists() and not list(out.parent.glob("*.tmp"))
    asked: list[object] = []
    original = mock.MockLM.generate_until

    def counting(self, requests, disable_tqdm=False):  # type: ignore[no-untyped-def]
        asked.extend(requests)
        return original(self, requests, disable_tqdm)

    monkeypatch.setattr(mock.MockLM, "generate_until", counting)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert asked == [] and read_run(out).header is not None  # written from the cache


def test_write_results_errors_name_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(EvalcliffError, match="cannot create its directory"):
        write_results(_rows(), afile / "sub" / "r.parquet")
    with monkeypatch.context() as m:
        _disk_full(m)
        with pytest.raises(EvalcliffError, match=r"r\.parquet: cannot write the results file"):
            write_results(_rows(), tmp_path / "r.parquet")
    assert not list(tmp_path.glob(".r.parquet*"))


def test_a_served_run_that_cannot_be_written_says_the_model_is_asked_again(
    tmp_path: Path, mini_suite: Path, mock_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "g.parquet"
    res = CliRunner().invoke(cli, ["run", "good", "--suite", str(mini_suite), "--config",
                                   str(mock_config), "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    run = read_run(out)
    assert run.header is not None
    served = run.header.model_copy(
        update={"model": run.header.model.model_copy(update={"weights_fingerprint": None})}
    )
    with monkeypatch.context() as m:
        _disk_full(m)
        with pytest.raises(EvalcliffError, match="a rerun asks the model again"):
            write_run(run.results, tmp_path / "s.parquet", served)
