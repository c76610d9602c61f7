"""Run several variants side by side, one worker process each, with a progress bar per variant.

Workers are started with `spawn` (no CLI re-entry, no fork of a process holding threads) and
get the suite's items from the parent, so items are built once. CPU threads are split evenly
between them (`OMP_NUM_THREADS`). Each worker reports progress and its outcome on a queue.
A worker dies with its parent: it gets SIGTERM when the parent exits, even by kill -9
(Linux `PR_SET_PDEATHSIG`), and stops its servers and sandboxes on the way out.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalcliff.config.variants import VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.schema.run import RunHeader
from evalcliff.suites.items import Item
from evalcliff.suites.spec import SuiteSpec


@dataclass(frozen=True)
class RunJob:
    """One variant to run: its name, settings, results file and log file."""

    name: str
    variant: VariantConfig
    out: Path
    log: Path


@dataclass(frozen=True)
class RunOptions:
    """What every job of one `run_many` shares."""

    seed: int | None = None
    limit: int | None = None
    force: bool = False
    allow_unsandboxed: bool = False


@dataclass(frozen=True)
class JobResult:
    """A finished job: the run's header, whether it was reused, and its wall time."""

    name: str
    out: Path
    header: RunHeader
    reused: bool
    seconds: float


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PDEATHSIG
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(143)


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _worker(
    job: RunJob,
    spec: SuiteSpec,
    items: list[Item],
    opts: RunOptions,
    threads: int,
    parent: int,
    q: Any,
) -> None:
    """Entry point of a worker process (top level, so `spawn` can import it)."""
    _die_with_parent(parent)
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    job.log.parent.mkdir(parents=True, exist_ok=True)
    log = open(job.log, "ab", buffering=0)  # noqa: SIM115 - lives as long as the process
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    from evalcliff.runner.run import run_variant

    try:
        outcome = run_variant(
            job.name,
            job.variant,
            spec,
            job.out,
            seed=opts.seed,
            force=opts.force,
            limit=opts.limit,
            items=items,
            allow_unsandboxed=opts.allow_unsandboxed,
            on_item=lambda: q.put(("item", job.name, 1)),
            on_total=lambda n: q.put(("total", job.name, n)),
        )
    except EvalcliffError as exc:
        print(f"evalcliff: error: {exc}", file=sys.stderr, flush=True)
        q.put(("error", job.name, str(exc)))
        return
    except BaseException as exc:
        traceback.print_exc()
        q.put(("error", job.name, f"{exc.__class__.__name__}: {exc}"))
        raise
    q.put(
        (
            "done",
            job.name,
            (outcome.header.model_dump_json(), outcome.reused, outcome.seconds),
        )
    )


def _stop(procs: dict[str, Any]) -> None:
    for p in procs.values():
        if p.is_alive():
            p.terminate()  # SIGTERM: the worker stops its servers and sandboxes
    for p in procs.values():
        p.join(timeout=20)
        if p.is_alive():
            p.kill()
            p.join()


def run_many(
    jobs: list[RunJob],
    spec: SuiteSpec,
    items: list[Item],
    opts: RunOptions,
    *,
    parallel: int = 2,
) -> dict[str, JobResult]:
    """Run every job (at most `parallel` at once); variant name -> result.

    Raises EvalcliffError naming the first variant that failed and its log; the other runs
    and every finished item are kept (running the same command again resumes).
    """
    from evalcliff.runner.progress import Bars

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    threads = max(1, (os.cpu_count() or 1) // max(1, min(parallel, len(jobs))))
    pending = list(jobs)
    running: dict[str, Any] = {}
    done: dict[str, JobResult] = {}
    failed: dict[str, str] = {}
    by_name = {j.name: j for j in jobs}
    # rich bars on a terminal, else a line per ~10% or 30 s (CI logs); both on stderr
    with Bars([j.name for j in jobs]) as bars:

        def handle(timeout: float) -> bool:
            """Take one message off the queue; False when none came in time."""
            try:
                kind, name, payload = q.get(timeout=timeout)
            except queue_mod.Empty:
                return False
            if kind == "total":
                bars.total(name, payload)
            elif kind == "item":
                bars.advance(name, payload)
            elif kind == "done":
                text, reused, seconds = payload
                header = RunHeader.model_validate_json(text)
                done[name] = JobResult(name, by_name[name].out, header, reused, seconds)
                bars.complete(name, header.n_items)
            elif kind == "error":
                failed[name] = payload
            return True

        try:
            while pending or running:
                while pending and len(running) < max(1, parallel):
                    job = pending.pop(0)
                    p = ctx.Process(
                        target=_worker,
                        args=(job, spec, items, opts, threads, os.getpid(), q),
                        name=f"evalcliff-run-{job.name}",
                    )
                    p.start()
                    running[job.name] = p
                handle(0.5)
                for n, p in list(running.items()):
                    if p.is_alive():
                        continue
                    p.join()
                    del running[n]
                    # drain what the worker said before it exited
                    while n not in done and n not in failed:
                        if not handle(1.0):
                            failed[n] = f"worker exited with code {p.exitcode}"
        except BaseException:
            _stop(running)
            raise
    if failed:
        name, why = next(iter(failed.items()))
        raise EvalcliffError(
            f"variant {name!r} failed: {why} (log: {by_name[name].log}); finished items are "
            "kept: run the same command again to resume"
        )
    return done
