"""Whole-process timings of the harness: `evalcliff run` against the bare engine, the KL pass
against the runs, and a cached rerun against the first run.

Every timing is a separate process (imports and model load included), one thread, on the
same prompts; A and B alternate (A B A B A B) and the minimum of each is kept, so load from other
work on the machine hits both sides alike. The model checkpoints are materialised once before
timing (both sides load a ready checkpoint); each `evalcliff run` starts from an empty run
cache.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BARE = Path(__file__).with_name("bare.py")
GENTIME = Path(__file__).with_name("gentime.py")

_KL_SCRIPT = """
import sys, time
from pathlib import Path
from evalcliff.config.variants import resolve_variant
from evalcliff.distribution.run import divergence_table
from evalcliff.suites.spec import load_suite
t0, c0 = time.perf_counter(), time.process_time()
spec = load_suite(sys.argv[1])
path = divergence_table(resolve_variant('fp16'), resolve_variant('q4'), spec,
                        Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
print(time.perf_counter() - t0, time.process_time() - c0)
"""


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "EVALCLIFF_CACHE": str(cache), "OMP_NUM_THREADS": "1"}


_CPU: dict[str, list[float]] = {}
_LOAD: dict[str, list[float]] = {}
_GEN: dict[str, list[float]] = {}  # CPU seconds of the model's `generate`, timed in-process
_GENW: dict[str, list[float]] = {}  # the same calls' wall seconds


def _generate_cpu(path: Path, label: str) -> None:
    """Record what `gentime.py` wrote for one run under `label` (nan if it wrote nothing)."""
    for key, into in (("generate_cpu_s", _GEN), ("generate_wall_s", _GENW)):
        try:
            value = float(json.loads(path.read_text(encoding="utf-8"))[key])
        except (OSError, ValueError, KeyError, TypeError):
            value = float("nan")
        into.setdefault(label, []).append(value)


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(cmd: list[str], env: dict[str, str], log: Path, label: str = "") -> float:
    """Wall seconds of one process; its CPU seconds (user + sys, with every process it
    waited for, e.g. sandboxes) go to `_CPU[label]`, the 1-minute load average before it
    to `_LOAD[label]`."""
    _LOAD.setdefault(label, []).append(os.getloadavg()[0])
    t0, c0 = time.perf_counter(), _children_cpu()
    with log.open("w") as f:
        proc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}; see {log}")
    _CPU.setdefault(label, []).append(_children_cpu() - c0)
    return wall


def _prompts(suite: str, limit: int | None, path: Path) -> int:
    from evalcliff.runner.run import prepare_items
    from evalcliff.suites.spec import load_suite

    spec = load_suite(suite)
    items, _ = prepare_items(spec, limit=limit)
    with path.open("w", encoding="utf-8") as f:
        for it in items:
            g = spec.slices[it.slice].generation
            rec = {"prompt": it.prompt, "max_gen_toks": g.max_gen_toks, "until": list(g.until)}
            f.write(json.dumps(rec) + "\n")
    return len(items)


def harness(work: Path, *, suite: str, limit: int | None, repeats: int) -> dict[str, Any]:
    """Harness overhead, KL pass cost and cached-rerun cost (seconds and ratios)."""
    from evalcliff.backends.hf import checkpoint_dir
    from evalcliff.config.variants import resolve_variant

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    cache = work / "cache"
    env = _env(cache)
    before = os.environ.get("EVALCLIFF_CACHE")
    os.environ["EVALCLIFF_CACHE"] = str(cache)  # materialise the checkpoints there, once
    try:
        model_dir, _ = checkpoint_dir(resolve_variant("fp16"))  # type: ignore[arg-type]
        checkpoint_dir(resolve_variant("q4"))  # type: ignore[arg-type]
    finally:
        if before is None:
            os.environ.pop("EVALCLIFF_CACHE", None)
        else:
            os.environ["EVALCLIFF_CACHE"] = before
    n_items = _prompts(suite, limit, work / "prompts.jsonl")
    exe = str(Path(sys.executable).with_name("evalcliff"))
    lim = ["--limit", str(limit)] if limit else []
    gen_json = work / "generate.json"
    # both sides run under the same wrapper, which times the model's `generate` in-process
    timed_exe = [sys.executable, str(GENTIME), str(gen_json)]

    def run_cmd(variant: str) -> list[str]:
        return [exe, "run", variant, "--suite", suite, "--out", str(work / f"{variant}.parquet")]

    def fresh_run(variant: str) -> float:
        shutil.rmtree(cache / "runs", ignore_errors=True)
        (work / f"{variant}.parquet").unlink(missing_ok=True)
        gen_json.unlink(missing_ok=True)
        cmd = [*timed_exe, "evalcliff", *run_cmd(variant)[1:], *lim]
        wall = _timed(cmd, env, work / f"run-{variant}.log", "ours")
        _generate_cpu(gen_json, "ours")
        return wall

    def bare_run() -> float:
        gen_json.unlink(missing_ok=True)
        cmd = [*timed_exe, "bare", str(work / "prompts.jsonl"), str(model_dir)]
        wall = _timed([*cmd, str(work / "bare.jsonl")], env, work / "bare.log", "bare")
        _generate_cpu(gen_json, "bare")
        return wall

    ours, bare = [], []
    _CPU.clear()
    _LOAD.clear()
    _GEN.clear()
    _GENW.clear()
    for r in range(repeats):
        print(f"harness: evalcliff run fp16 ({r + 1}/{repeats})", file=sys.stderr)
        ours.append(fresh_run("fp16"))
        print(f"harness: bare transformers loop ({r + 1}/{repeats})", file=sys.stderr)
        bare.append(bare_run())
    print("harness: cached rerun", file=sys.stderr)
    cached = _timed(run_cmd("fp16") + lim, env, work / "rerun.log")
    agree = _agreement(work / "fp16.parquet", work / "bare.jsonl")
    print("harness: evalcliff run q4, then the KL pass", file=sys.stderr)
    q4 = _timed(run_cmd("q4") + lim, env, work / "run-q4.log")
    kl_proc_t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _KL_SCRIPT, suite, str(work / "fp16.parquet"),
         str(work / "q4.parquet"), str(work / "divergence")],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    kl_process = time.perf_counter() - kl_proc_t0
    kl_call, kl_cpu = (float(x) for x in out.stdout.strip().splitlines()[-1].split())
    runs = min(ours) + q4
    return {
        "suite": suite,
        "limit": limit,
        "items": n_items,
        "repeats": repeats,
        "evalcliff_run_s": ours,
        "bare_loop_s": bare,
        "overhead_ratio": min(ours) / min(bare),
        "evalcliff_run_cpu_s": _CPU["ours"],
        "bare_loop_cpu_s": _CPU["bare"],
        "overhead_ratio_cpu": min(_CPU["ours"]) / min(_CPU["bare"]),
        # each alternated pair (run i of each side) on its own: the spread of one ratio
        "pair_ratios": [a / b for a, b in zip(ours, bare, strict=True)],
        "pair_ratios_cpu": [a / b for a, b in zip(_CPU["ours"], _CPU["bare"], strict=True)],
        **_outside_generate(_CPU["ours"], _CPU["bare"], _GEN["ours"], _GEN["bare"]),
        **_outside_generate(ours, bare, _GENW["ours"], _GENW["bare"], clock="wall"),
        "load_1m_before": {"ours": _LOAD["ours"], "bare": _LOAD["bare"]},
        "overhead_goal": 1.10,
        "outputs_identical_share": agree,
        "cached_rerun_s": cached,
        "cached_rerun_ratio": cached / min(ours),
        "cached_rerun_goal": 0.05,
        "run_q4_s": q4,
        "kl_call_s": kl_call,
        "kl_call_cpu_s": kl_cpu,
        "kl_process_s": kl_process,
        "kl_share_of_runs": kl_call / runs,
        "kl_goal": 0.25,
    }


def _outside_generate(
    ours_cpu: list[float],
    bare_cpu: list[float],
    ours_gen: list[float],
    bare_gen: list[float],
    clock: str = "cpu",
) -> dict[str, Any]:
    """The harness's cost with the engine's own work taken out: per run, the whole process's
    time on `clock` ("cpu" or "wall") minus the same clock's time in the model's `generate`
    (the same work on both sides: same prompts, outputs and model). A machine that runs
    slower during one run slows its `generate` most, so the difference outside it, per
    alternated pair, spreads less than a ratio of whole processes. Its ratio form:
    1 + (median extra) / (the bare loop's fastest whole process)."""
    ours_out = [c - g for c, g in zip(ours_cpu, ours_gen, strict=True)]
    bare_out = [c - g for c, g in zip(bare_cpu, bare_gen, strict=True)]
    extra = [a - b for a, b in zip(ours_out, bare_out, strict=True)]
    valid = [x for x in extra if x == x]  # drop nan (a run that wrote no timing)
    if not valid:
        return {f"generate_{clock}_s": {"ours": ours_gen, "bare": bare_gen}}
    median = statistics.median(valid)
    base = min(bare_cpu)
    return {
        f"generate_{clock}_s": {"ours": ours_gen, "bare": bare_gen},
        f"outside_generate_{clock}_s": {"ours": ours_out, "bare": bare_out},
        f"extra_{clock}_outside_generate_s": extra,
        f"extra_{clock}_outside_generate_median_s": median,
        f"overhead_ratio_{clock}_outside_generate": 1 + median / base,
        f"pair_ratios_{clock}_outside_generate": [1 + x / base for x in valid],
    }


def _agreement(run: Path, bare: Path) -> float:
    """Share of items whose evalcliff output equals the bare loop's (same item order)."""
    from evalcliff.results import read_run

    df = read_run(run).results
    ours = df["output"].tolist()
    theirs = [json.loads(line) for line in bare.read_text(encoding="utf-8").splitlines()]
    if len(ours) != len(theirs):
        return float("nan")
    same = sum(a == b for a, b in zip(ours, theirs, strict=True))
    return float(same) / max(1, len(ours))


def section(quick: bool, work: Path) -> dict[str, Any]:
    """Quick: 2 items per stratum of smoke (60 items); full: all 774 items. Both alternate
    A B A B A B (other work on a shared machine moves single timings by 10-15%)."""
    try:
        r = harness(work, suite="smoke", limit=2 if quick else None, repeats=3)
    except (RuntimeError, subprocess.CalledProcessError) as exc:  # e.g. no sandbox here
        return {"error": str(exc), "markdown": ["## Harness overhead", "", f"Failed: {exc}", ""]}
    r["markdown"] = markdown(r)
    return r


def _outside_row(r: dict[str, Any], clock: str = "cpu") -> list[str]:
    """The table row for the time outside the model's `generate` on `clock` ([] without
    the timings)."""
    if f"overhead_ratio_{clock}_outside_generate" not in r:
        return []
    gen = {k: [x for x in v if x == x] for k, v in r[f"generate_{clock}_s"].items()}
    ratio = r[f"overhead_ratio_{clock}_outside_generate"]
    pairs = r[f"pair_ratios_{clock}_outside_generate"]
    verdict = "within" if ratio <= r["overhead_goal"] else "OVER"
    whole = r["bare_loop_cpu_s"] if clock == "cpu" else r["bare_loop_s"]
    return [
        f"| same, {'CPU' if clock == 'cpu' else 'wall'} outside the model's `generate`"
        f" (generate timed in-process: {min(gen['ours']):.2f} vs {min(gen['bare']):.2f} s) |"
        f" +{r[f'extra_{clock}_outside_generate_median_s']:.2f} s over the bare loop's"
        f" {min(whole):.2f} |"
        f" {ratio:.3f}x (pairs {min(pairs):.3f}-{max(pairs):.3f})"
        f" | <= {r['overhead_goal']:.2f}x ({verdict}) |"
    ]


def markdown(r: dict[str, Any]) -> list[str]:
    """The section's table."""
    lim = "all" if r["limit"] is None else f"--limit {r['limit']}"
    what = f"{r['items']} items ({lim})"

    def ok(x: float, goal: float) -> str:
        return "within" if x <= goal else "OVER"

    def spread(key: str) -> str:
        pairs = r.get(key) or []
        if not pairs:
            return ""
        return f" (pairs {min(pairs):.3f}-{max(pairs):.3f})"

    load = r.get("load_1m_before", {"ours": [], "bare": []})
    return [
        "## Harness overhead, KL pass, cached rerun",
        "",
        f"Suite `{r['suite']}`, {what}; whole processes (imports and model load included),"
        f" one thread, fresh run cache, alternated {r['repeats']} times, minimum of each."
        " The bare engine is a `transformers` generate loop over the same prompts (greedy,"
        " batch 1, same max_gen_toks and stop strings, no scoring:"
        " `evalcliff/dev/bench/bare.py`);"
        f" {100 * r['outputs_identical_share']:.1f}% of its outputs equal evalcliff's.",
        "",
        "| measure | seconds | ratio | goal |",
        "|---|---|---|---|",
        f"| `evalcliff run fp16` vs bare loop | {min(r['evalcliff_run_s']):.2f} vs"
        f" {min(r['bare_loop_s']):.2f} | {r['overhead_ratio']:.3f}x{spread('pair_ratios')} |"
        f" <= {r['overhead_goal']:.2f}x ({ok(r['overhead_ratio'], r['overhead_goal'])}) |",
        f"| same, CPU seconds (user + sys, sandboxes included) |"
        f" {min(r['evalcliff_run_cpu_s']):.2f} vs {min(r['bare_loop_cpu_s']):.2f} |"
        f" {r['overhead_ratio_cpu']:.3f}x{spread('pair_ratios_cpu')} |"
        f" <= {r['overhead_goal']:.2f}x"
        f" ({ok(r['overhead_ratio_cpu'], r['overhead_goal'])}) |",
        *_outside_row(r),
        *_outside_row(r, "wall"),
        f"| KL pass (`divergence_table`) vs both runs | {r['kl_call_s']:.2f} vs"
        f" {min(r['evalcliff_run_s']) + r['run_q4_s']:.2f} | {100 * r['kl_share_of_runs']:.0f}% |"
        f" <= {100 * r['kl_goal']:.0f}% ({ok(r['kl_share_of_runs'], r['kl_goal'])}) |",
        f"| cached rerun vs first run | {r['cached_rerun_s']:.2f} vs"
        f" {min(r['evalcliff_run_s']):.2f} | {100 * r['cached_rerun_ratio']:.1f}% |"
        f" <= {100 * r['cached_rerun_goal']:.0f}%"
        f" ({ok(r['cached_rerun_ratio'], r['cached_rerun_goal'])}) |",
        "",
        f"All runs (wall): evalcliff {', '.join(f'{x:.2f}' for x in r['evalcliff_run_s'])} s;"
        f" bare {', '.join(f'{x:.2f}' for x in r['bare_loop_s'])} s. CPU:"
        f" evalcliff {', '.join(f'{x:.2f}' for x in r['evalcliff_run_cpu_s'])} s; bare"
        f" {', '.join(f'{x:.2f}' for x in r['bare_loop_cpu_s'])} s. 1-minute load average"
        f" before each: evalcliff {', '.join(f'{x:.2f}' for x in load['ours'])}; bare"
        f" {', '.join(f'{x:.2f}' for x in load['bare'])}. On a shared machine the CPU ratio"
        " is the steadier one; the wall ratio credits evalcliff for scoring code on the"
        " second core while generation runs. The ratios are of the minima; 'pairs' is the range"
        " of each alternated pair's own ratio, the run-to-run spread of one measurement. The"
        " 'outside generate' row takes the engine's own work out of each run (both sides run"
        " under `evalcliff/dev/bench/gentime.py`, which times the model's `generate` with the"
        " calling thread's CPU clock and the wall clock): the median extra of a pair over the bare"
        " loop's fastest run, on that clock. The KL pass is timed inside its"
        f" process ({r.get('kl_call_cpu_s', float('nan')):.2f} s CPU;"
        f" {r['kl_process_s']:.2f} s whole process, imports included).",
        "",
    ]
