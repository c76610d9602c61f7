"""Run several variants side by side, one worker process each, with a progress bar per variant.

Workers are started with `spawn` (no CLI re-entry, no fork of a process holding threads) and
get the suite's items from the parent, so items are built once. CPU threads are split evenly
between them (`OMP_NUM_THREADS`). Each worker reports progress and its outcome on a queue.
A worker dies with its parent: it gets SIGTERM when the parent exits, even by kill -9
(Linux `PR_SET_PDEATHSIG`), and stops its servers and sandboxes on the way out.

`run_many` starts a worker per job. `RunPool` keeps one worker per variant, with its model
loaded, across several runs (the looks of a sequential run).
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
from typing import TYPE_CHECKING, Any

from evalcliff.config.variants import VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.schema.run import RunHeader
from evalcliff.suites.items import Item
from evalcliff.suites.spec import SuiteSpec

if TYPE_CHECKING:
    from evalcliff.runner.backend import HeldBackend


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


def _enter_worker(log: Path, threads: int, parent: int) -> None:
    """Set up a worker process: dies with the parent, ignores Ctrl-C (the parent handles
    it), `threads` CPU threads, stdout and stderr into `log`."""
    _die_with_parent(parent)
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)  # lives with the process
    os.dup2(fd, 1)
    os.dup2(fd, 2)


def _run_job(
    job: RunJob,
    spec: SuiteSpec,
    items: list[Item],
    opts: RunOptions,
    q: Any,
    held: HeldBackend | None = None,
) -> None:
    """Run one job in this worker and put its outcome ("done" or "error") on `q`."""
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
            held=held,
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


def _worker(
    job: RunJob,
    spec: SuiteSpec,
    items: list[Item],
    opts: RunOptions,
    threads: int,
    parent: int,
    q: Any,
) -> None:
    """Entry point of a one-job worker process (top level, so `spawn` can import it)."""
    _enter_worker(job.log, threads, parent)
    _run_job(job, spec, items, opts, q)


def _pool_worker(
    name: str,
    variant: VariantConfig,
    spec: SuiteSpec,
    items: list[Item],
    opts: RunOptions,
    log: Path,
    threads: int,
    parent: int,
    inbox: Any,
    q: Any,
) -> None:
    """Entry point of a `RunPool` worker: runs jobs of one variant from `inbox` (a results
    path and the ids of the items to run, out of `items`) with its backend held between
    them, until it gets None."""
    _enter_worker(log, threads, parent)
    from evalcliff.runner.backend import HeldBackend

    by_id = {it.item_id: it for it in items}
    with HeldBackend(items) as held:
        while (message := inbox.get()) is not None:
            out, ids = message
            job = RunJob(name, variant, out, log)
            _run_job(job, spec, [by_id[i] for i in ids], opts, q, held)


def _stop(procs: dict[str, Any]) -> None:
    for p in procs.values():
        if p.is_alive():
            p.terminate()  # SIGTERM: the worker stops its servers and sandboxes
    for p in procs.values():
        p.join(timeout=20)
        if p.is_alive():
            p.kill()
            p.join()


class _Outcomes:
    """What the workers of one batch of jobs report on `q`, drawn on `bars`."""

    def __init__(self, q: Any, bars: Any, outs: dict[str, Path]) -> None:
        self.q, self.bars, self.outs = q, bars, outs
        self.done: dict[str, JobResult] = {}
        self.failed: dict[str, str] = {}

    def settled(self, name: str) -> bool:
        return name in self.done or name in self.failed

    def handle(self, timeout: float) -> bool:
        """Take one message off the queue; False when none came in time."""
        try:
            kind, name, payload = self.q.get(timeout=timeout)
        except queue_mod.Empty:
            return False
        if kind == "total":
            self.bars.total(name, payload)
        elif kind == "item":
            self.bars.advance(name, payload)
        elif kind == "done":
            text, reused, seconds = payload
            header = RunHeader.model_validate_json(text)
            self.done[name] = JobResult(name, self.outs[name], header, reused, seconds)
            self.bars.complete(name, header.n_items)
        elif kind == "error":
            self.failed[name] = payload
        return True

    def reap(self, name: str, proc: Any) -> None:
        """`name`'s worker has exited: take what it said first, else it failed."""
        proc.join()
        while not self.settled(name):
            if not self.handle(1.0):
                self.failed[name] = f"worker exited with code {proc.exitcode}"

    def raise_failure(self, logs: dict[str, Path]) -> None:
        if self.failed:
            name, why = next(iter(self.failed.items()))
            raise EvalcliffError(
                f"variant {name!r} failed: {why} (log: {logs[name]}); finished items are "
                "kept: run the same command again to resume"
            )


def _threads(n_at_once: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, n_at_once))


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
    threads = _threads(min(parallel, len(jobs)))
    pending = list(jobs)
    running: dict[str, Any] = {}
    # rich bars on a terminal, else a line per ~10% or 30 s (CI logs); both on stderr
    with Bars([j.name for j in jobs]) as bars:
        seen = _Outcomes(q, bars, {j.name: j.out for j in jobs})
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
                seen.handle(0.5)
                for n, p in list(running.items()):
                    if not p.is_alive():
                        del running[n]
                        seen.reap(n, p)  # drain what the worker said before it exited
        except BaseException:
            _stop(running)
            raise
    seen.raise_failure({j.name: j.log for j in jobs})
    return seen.done


class RunPool:
    """One worker process per variant, all running side by side, each keeping its model
    loaded (and its server up) from one `run` to the next: the looks of a sequential run.

    `items` are every item any run will ask for (sent to each worker once); a `run` sends
    only item ids. Workers start on the first `run` and stop at `close()` (or the end of a
    `with` block), or with this process. A failed run raises as `run_many` does.
    """

    def __init__(
        self,
        variants: dict[str, VariantConfig],
        spec: SuiteSpec,
        items: list[Item],
        opts: RunOptions,
        logs: dict[str, Path],
    ) -> None:
        self._variants, self._spec, self._items, self._opts = variants, spec, items, opts
        self._logs = logs
        self._ctx = mp.get_context("spawn")
        self._q: Any = None
        self._procs: dict[str, Any] = {}
        self._inbox: dict[str, Any] = {}

    def _start(self) -> None:
        self._q = self._ctx.Queue()
        threads = _threads(len(self._variants))
        for name, variant in self._variants.items():
            inbox = self._ctx.Queue()
            p = self._ctx.Process(
                target=_pool_worker,
                args=(name, variant, self._spec, self._items, self._opts, self._logs[name],
                      threads, os.getpid(), inbox, self._q),
                name=f"evalcliff-run-{name}",
            )  # fmt: skip
            p.start()
            self._procs[name], self._inbox[name] = p, inbox

    def run(self, outs: dict[str, Path], items: list[Item]) -> dict[str, JobResult]:
        """Run `items` for every variant, variant `name`'s results written to `outs[name]`;
        variant name -> result."""
        from evalcliff.runner.progress import Bars

        if set(outs) != set(self._variants):
            raise ValueError(f"outs must name every variant: {sorted(self._variants)}")
        if not self._procs:
            self._start()
        ids = [it.item_id for it in items]
        with Bars(list(outs)) as bars:
            seen = _Outcomes(self._q, bars, outs)
            try:
                for name, out in outs.items():
                    self._inbox[name].put((out, ids))
                while not all(seen.settled(n) for n in outs):
                    seen.handle(0.5)
                    for n, p in self._procs.items():
                        if not seen.settled(n) and not p.is_alive():
                            seen.reap(n, p)
            except BaseException:
                self.close(wait=False)
                raise
        if seen.failed:
            self.close(wait=False)  # a worker that failed may hold a half-loaded backend
        seen.raise_failure(self._logs)
        return seen.done

    def close(self, wait: bool = True) -> None:
        """Stop the workers: with `wait`, each finishes and unloads (stopping its server);
        else they are terminated (SIGTERM: they still stop their servers and sandboxes)."""
        procs, self._procs = self._procs, {}
        if wait:
            for name, p in procs.items():
                if p.is_alive():
                    self._inbox[name].put(None)
            for p in procs.values():
                p.join(timeout=30)
        _stop(procs)
        self._inbox = {}

    def __enter__(self) -> RunPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(wait=exc[0] is None)
