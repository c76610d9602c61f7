"""Run several variants side by side, one `evalcliff run` process each, with a progress bar.

CPU threads are split evenly between the processes (`OMP_NUM_THREADS`): two variants on
two cores each get one thread rather than contending for both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from evalcliff.errors import EvalcliffError


def _unique_lines(path: Path) -> int:
    if not path.exists():
        return 0
    return len({line.split(",")[0] for line in path.read_text().splitlines() if line.strip()})


def run_side_by_side(
    names: list[str],
    suite: str,
    config: str | None,
    runs_dir: Path,
    *,
    jobs: int = 2,
    limit: int | None = None,
    force: bool = False,
) -> dict[str, Path]:
    """Run each distinct variant in `names`; return variant -> results path.

    Raises EvalcliffError naming the variant and its log when a run fails; other runs and
    every finished item are kept.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from evalcliff.config.variants import resolve_variant
    from evalcliff.runner.run import run_dir_for
    from evalcliff.suites.build import build_items, limit_items, manifest
    from evalcliff.suites.spec import load_suite

    spec = load_suite(suite)
    items = limit_items(build_items(spec), limit)
    unique = list(dict.fromkeys(names))
    variants = {n: resolve_variant(n, config) for n in unique}
    runs_dir = runs_dir / spec.name
    runs_dir.mkdir(parents=True, exist_ok=True)
    (runs_dir / "logs").mkdir(exist_ok=True)
    paths = {n: runs_dir / f"{n}.parquet" for n in unique}
    journals = {
        n: run_dir_for(n, variants[n], manifest(spec, items, spec.seed)) / "journal.jsonl"
        for n in unique
    }
    threads = max(1, (os.cpu_count() or 1) // max(1, min(jobs, len(unique))))
    pending = list(unique)
    running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    failed: dict[str, Path] = {}
    with Progress(
        "[bold]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        bars = {n: progress.add_task(n, total=None) for n in unique}
        while pending or running:
            while pending and len(running) < max(1, jobs):
                n = pending.pop(0)
                cmd = [
                    sys.executable,
                    "-m",
                    "evalcliff.cli.main",
                    "run",
                    n,
                    "--suite",
                    suite,
                    "--out",
                    str(paths[n]),
                ]
                cmd += ["--config", config] if config else []
                cmd += ["--limit", str(limit)] if limit is not None else []
                cmd += ["--force"] if force else []
                log = runs_dir / "logs" / f"{n}.log"
                env = {
                    **os.environ,
                    "OMP_NUM_THREADS": str(threads),
                    "TOKENIZERS_PARALLELISM": "false",
                }
                with log.open("wb") as fh:
                    running[n] = (
                        subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env),
                        log,
                    )
            # progress from each run's journal (one line per finished item)
            for n in running:
                done = _unique_lines(journals[n])
                progress.update(bars[n], total=len(items), completed=min(done, len(items)))
            for n, (proc, log) in list(running.items()):
                if proc.poll() is not None:
                    del running[n]
                    if proc.returncode != 0:
                        failed[n] = log
                    progress.update(bars[n], total=len(items), completed=len(items))
            time.sleep(0.5)
    if failed:
        n, log = next(iter(failed.items()))
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        raise EvalcliffError(
            f"variant {n!r} failed ({tail[0]}); full log: {log}; rerun the same command to resume"
        )
    return paths
