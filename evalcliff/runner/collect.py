"""Score raw outputs into per-item result rows (no lm-eval here: see `runner.lmeval`)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evalcliff.errors import ERROR_PREFIX
from evalcliff.runner import journal
from evalcliff.schema.run import RESULT_COLUMNS
from evalcliff.scoring import get_scorer
from evalcliff.scoring.score import Score
from evalcliff.suites.items import Item
from evalcliff.suites.spec import SuiteSpec

if TYPE_CHECKING:
    from evalcliff.scoring.sandbox_server import SandboxServer


def per_item_metrics(hashes: dict[str, str], rdir: Path) -> dict[str, dict[str, Any]]:
    """item_id -> {latency_s, ttft_s, output_tokens} from the run's journals (None if unknown)."""
    lat = journal.read_latencies(rdir / "journal.jsonl")
    req = journal.read_records(rdir / "request_metrics.jsonl")
    out: dict[str, dict[str, Any]] = {}
    for iid, h in hashes.items():
        m = req.get(h, {})
        out[iid] = {
            "latency_s": m.get("latency_s", lat.get(h)),
            "ttft_s": m.get("ttft_s"),
            "output_tokens": m.get("output_tokens"),
        }
    return out


def idle_cores(window_s: float, stop: threading.Event) -> float | None:
    """Idle CPU capacity of the machine over the next `window_s` seconds (or until `stop`),
    in cores, from /proc/stat; None where that cannot be read (then nothing waits on it)."""

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = f.readline().split()
            ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
        except (OSError, ValueError):
            return None
        return ticks[3] + ticks[4], sum(ticks)

    first = sample()
    stop.wait(window_s)
    last = sample()
    if first is None or last is None or last[1] <= first[1]:
        return None
    return (last[0] - first[0]) / (last[1] - first[1]) * (os.cpu_count() or 1)


class EarlyCodeScorer:
    """Scores code-slice outputs in the sandbox while generation goes on, where a core is free.

    `offer(context, response)` is called as each request finishes; a response to a code
    item's request (`contexts`: item_id -> request context; default: the prompt itself)
    queues its sandboxed tests on a background thread (one sandbox at a time, so generation
    keeps a core), all through one `SandboxServer` (one interpreter start-up for the run,
    each item still in its own namespaces). A job starts only while the machine has about
    a core idle (`idle_cores` over 0.1 s): on a busy machine a sandbox would share the
    generation's core, evict its weights from the CPU caches and cost ~3 s of CPU on the
    smoke suite, for no gain in wall time. `score(item_id, output)` is that score when it
    was computed (or started) for exactly this output, else None (the caller scores it
    then, after generation, when both cores are free); a queued job that has not started is
    dropped. Scoring is a pure function of (item, output), so early and late scores are the
    same numbers.
    """

    IDLE_CORES = 0.75  # idle capacity (cores) a job waits for while generation runs
    WINDOW_S = 0.1

    def __init__(
        self,
        spec: SuiteSpec,
        items: list[Item],
        allow_unsandboxed: bool,
        contexts: dict[str, str] | None = None,
    ) -> None:
        self.allow_unsandboxed = allow_unsandboxed
        self.by_context: dict[str, list[Item]] = {}
        for it in items:
            sl = spec.slices[it.slice]
            if sl.scorer == "code" and sl.lm_eval_task is None:
                context = it.prompt if contexts is None else contexts[it.item_id]
                self.by_context.setdefault(context, []).append(it)
        self.futures: dict[tuple[str, str], Future[Score]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._server: SandboxServer | None = None
        self._generated = threading.Event()  # generation is over: no job waits any more

    def offer(self, context: str, response: Any) -> None:
        """A finished request: start scoring it if it answers a code item."""
        todo = self.by_context.get(context)
        if not todo or not isinstance(response, str) or response.startswith(ERROR_PREFIX):
            return
        from evalcliff.scoring.code import score_code
        from evalcliff.scoring.sandbox_server import SandboxServer

        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="early-code")
            self._server = SandboxServer()
        for it in todo:
            key = (it.item_id, response)
            if key not in self.futures:
                self.futures[key] = self._pool.submit(self._when_idle, score_code, it, response)

    def _when_idle(self, score_code: Any, item: Item, response: str) -> Score:
        while not self._generated.is_set():
            idle = idle_cores(self.WINDOW_S, self._generated)
            if idle is None or idle >= self.IDLE_CORES:
                break
        result: Score = score_code(item, response, self.allow_unsandboxed, self._server)
        return result

    def score(self, item_id: str, output: str) -> Score | None:
        """The early score of `output` for `item_id` (waits for a started one), or None.
        Generation is over once this is called: jobs not started by then are dropped."""
        if not self._generated.is_set():
            self._generated.set()
            for queued in self.futures.values():
                queued.cancel()  # only those not started
        fut = self.futures.get((item_id, output))
        return None if fut is None or fut.cancelled() else fut.result()

    def close(self) -> None:
        """Stop: unstarted work is dropped, a running sandbox finishes."""
        self._generated.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._server is not None:
            self._server.close()


def score_outputs(
    spec: SuiteSpec,
    items: list[Item],
    outputs: dict[str, str],
    metrics: dict[str, dict[str, Any]],
    *,
    allow_unsandboxed: bool = False,
    early: EarlyCodeScorer | None = None,
) -> pd.DataFrame:
    """Score every item's output with its slice's scorer into the results table.

    A failed request (output starting with ERROR_PREFIX) becomes an `error` row with score 0.
    Code items that `early` already scored for the same output take that score.
    """
    from evalcliff.scoring.code import score_code_batch

    rows: list[dict[str, Any]] = []
    code_jobs = []
    for it in items:
        scorer_name = spec.slices[it.slice].scorer
        out = outputs.get(it.item_id)
        m = metrics.get(it.item_id, {})
        row: dict[str, Any] = {
            "item_id": it.item_id,
            "suite": it.suite,
            "slice": it.slice,
            "stratum": it.stratum,
            "cluster_id": it.cluster_id,
            "prompt_hash": it.prompt_hash,
            "output": out or "",
            "target": it.target,
            "score": 0.0,
            "correct": False,
            "catastrophic": False,
            "error": None,
            "latency_s": m.get("latency_s"),
            "ttft_s": m.get("ttft_s"),
            "output_tokens": m.get("output_tokens"),
        }
        rows.append(row)
        if out is None:
            row["error"] = "no output"
        elif out.startswith(ERROR_PREFIX):
            row.update(output="", error=out[len(ERROR_PREFIX) :])
        elif scorer_name == "code":
            s = early.score(it.item_id, out) if early is not None else None
            if s is None:
                code_jobs.append((len(rows) - 1, it, out))
            else:
                row.update(score=s.score, correct=s.correct, catastrophic=s.catastrophic)
        else:
            s = get_scorer(scorer_name)(it, out)
            row.update(score=s.score, correct=s.correct, catastrophic=s.catastrophic)
    if code_jobs:
        results = score_code_batch(
            [(it, out) for _, it, out in code_jobs], allow_unsandboxed=allow_unsandboxed
        )
        for (idx, _, _), s in zip(code_jobs, results, strict=True):
            rows[idx].update(score=s.score, correct=s.correct, catastrophic=s.catastrophic)
    df = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    for col in ("ttft_s", "output_tokens"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return df
