"""Sequential mode of `report` (`--sequential K`): run a suite in K stratified looks and stop
sampling each slice once it is decided.

- **Looks.** Every item gets a look 1..K (`plan_looks`): per slice and stratum, its clusters
  in a seeded order (items that share a cluster go to the same look), cut at the cumulative
  shares ceil(k/K * n), so every look holds every stratum in proportion.
- **Runs.** Look k runs the new items of the slices still open, for both variants side by
  side (`run_many`); each look is its own run (its run key covers its items), written to
  `RUNS_DIR/SUITE/VARIANT.seqK/lookk.parquet`, so a killed report, started again, reuses the
  finished looks and resumes the interrupted one from its run cache.
- **Decisions.** After each look the looks so far are paired and every open slice that got
  new items is judged with its resolved margin by `evalcliff.gate.sequential.look_decision`
  (repeated CIs, O'Brien-Fleming bounds in information time). A decided slice gets no more
  items. Decisions are never stored and reused: they are made again from the data on every
  run, under the policy of that run, so a changed margin or confidence re-decides (item
  outputs are reused: they do not depend on the policy).
- **Merge.** The looks of each variant are merged into `RUNS_DIR/SUITE/VARIANT.seqK.parquet`
  (never over a fixed-n run) whose header carries the design (`SequentialDesign`): the
  comparison judges it by the sequential rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from random import Random

import pandas as pd

from evalcliff.config.variants import VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.gate.noninferiority import slice_settings
from evalcliff.gate.pairing import pair_runs
from evalcliff.gate.policy import Policy
from evalcliff.gate.sequential import information, look_decision
from evalcliff.results.io import read_run, write_run
from evalcliff.runner.identity import safe_name
from evalcliff.runner.many import JobResult, RunOptions
from evalcliff.schema.manifest import SuiteManifest
from evalcliff.schema.run import (
    ModelIdentity,
    PerfStats,
    RunHeader,
    SequentialDesign,
    SequentialSlice,
)
from evalcliff.stats.sequential import boundary_at
from evalcliff.suites.items import Item
from evalcliff.suites.spec import SuiteSpec

# Runs one look: (look number, its items) -> variant name -> the finished look run.
RunLook = Callable[[int, list[Item]], dict[str, JobResult]]


@dataclass(frozen=True)
class LookPlan:
    """Items' looks (`look[item_id]` in 1..K) and, per slice, the cumulative items of
    looks 1..k (`planned[slice][k - 1]`; the last entry is every item of the slice)."""

    looks: int
    look: dict[str, int]
    planned: dict[str, list[int]]


def plan_looks(items: list[Item], looks: int, seed: int) -> LookPlan:
    """Assign every item a look 1..`looks`, stratified and cluster-whole (see the module
    docstring). Deterministic for (items, looks, seed); a cluster counts in the stratum of
    its first item."""
    if looks < 2:
        raise EvalcliffError(f"--sequential needs at least 2 looks, got {looks}")
    clusters: dict[tuple[str, str], list[Item]] = {}
    for it in items:
        clusters.setdefault((it.slice, it.cluster_id), []).append(it)
    strata: dict[tuple[str, str], list[list[Item]]] = {}
    for (slice_name, _), members in clusters.items():
        strata.setdefault((slice_name, members[0].stratum), []).append(members)
    look: dict[str, int] = {}
    for (slice_name, stratum), groups in strata.items():
        Random(f"{seed}|looks{looks}|{slice_name}|{stratum}").shuffle(groups)
        n = sum(len(g) for g in groups)
        cuts = [math.ceil(k * n / looks) for k in range(1, looks + 1)]
        start = 0
        for g in groups:
            k = next(k for k, cut in enumerate(cuts, 1) if start < cut)
            for it in g:
                look[it.item_id] = k
            start += len(g)
    planned: dict[str, list[int]] = {}
    for it in items:
        counts = planned.setdefault(it.slice, [0] * looks)
        counts[look[it.item_id] - 1] += 1
    for counts in planned.values():
        for k in range(1, looks):
            counts[k] += counts[k - 1]
    return LookPlan(looks, look, planned)


def look_path(runs: Path, variant: str, looks: int, look: int) -> Path:
    """Where a variant's look run is written: RUNS/VARIANT.seqK/lookk.parquet."""
    return runs / f"{safe_name(variant)}.seq{looks}" / f"look{look}.parquet"


def merged_path(runs: Path, variant: str, looks: int) -> Path:
    """Where a variant's merged sequential run is written: RUNS/VARIANT.seqK.parquet."""
    return runs / f"{safe_name(variant)}.seq{looks}.parquet"


def refuse_fixed_overwrite(path: Path) -> None:
    """EvalcliffError when `path` holds a run without a sequential design (a fixed-n run
    the merged sequential run would silently replace)."""
    if not path.exists():
        return
    try:
        header = read_run(path).header
    except EvalcliffError:
        return  # unreadable: nothing worth keeping is lost
    if header is not None and header.sequential is None:
        raise EvalcliffError(
            f"{path} holds a fixed-n run of {header.variant!r}; a sequential run will not"
            " overwrite it: choose another --runs-dir"
        )


@dataclass(frozen=True)
class SequentialResult:
    """The merged run per variant (name -> path, header), the decisions per slice, and the
    items actually run (in build order)."""

    paths: dict[str, Path]
    headers: dict[str, RunHeader]
    decided: dict[str, SequentialSlice]
    items: list[Item]


def run_looks(
    items: list[Item],
    plan: LookPlan,
    *,
    base: str,
    cand: str,
    suite: SuiteManifest,
    policy: Policy,
    run_look: RunLook,
    echo: Callable[[str], None] = lambda _line: None,
) -> tuple[dict[str, SequentialSlice], dict[str, list[JobResult]], list[float]]:
    """Run the looks until every slice is decided or the last look is done.

    Returns each slice's record (where it stopped, its decision and bound), each variant's
    look runs in order, and the wall seconds of each look that ran. `suite` (the full
    build's manifest) and `policy` resolve every slice's settings as the gate does; `echo`
    gets one line per look.
    """
    settings = slice_settings(list(plan.planned), policy, suite)
    open_slices = list(plan.planned)
    decided: dict[str, SequentialSlice] = {}
    done: dict[str, list[JobResult]] = {}
    walls: list[float] = []
    for k in range(1, plan.looks + 1):
        delta = [it for it in items if plan.look[it.item_id] == k and it.slice in open_slices]
        ran = ""
        if delta:
            t0 = time.perf_counter()
            results = run_look(k, delta)
            walls.append(round(time.perf_counter() - t0, 3))
            for name, r in results.items():
                done.setdefault(name, []).append(r)
            ran = ", ".join(
                f"{n} {'reused' if r.reused else f'ran in {r.seconds:.0f}s'}"
                for n, r in results.items()
            )
        if not done:  # nothing to judge yet (cannot happen: look 1 holds every slice)
            continue
        paired = pair_runs(*(_frame(done[n]) for n in (base, cand)))
        fresh = {it.slice for it in delta}
        now: dict[str, SequentialSlice] = {}
        for name in open_slices:
            t = information(plan.planned[name], k)
            final = k == plan.looks or t >= 1.0
            if name not in fresh and not final:
                continue  # no new items, no new evidence: no look
            c = boundary_at(t, plan.looks, policy.confidence)
            d = look_decision(paired[paired["slice"] == name], settings[name], policy, c, final)
            if d.decision != "continue":
                now[name] = SequentialSlice(
                    planned=plan.planned[name],
                    stopped_at=k,
                    decision=d.decision,
                    boundary=c,
                    margin=settings[name].margin,
                )
        decided.update(now)
        open_slices = [s for s in open_slices if s not in now]
        said = ", ".join(f"{n} {r.decision}" for n, r in now.items()) or "none"
        echo(
            f"look {k}/{plan.looks}: {len(delta)} new items per variant"
            f"{f' ({ran})' if ran else ''}; decided: {said}; open:"
            f" {', '.join(open_slices) or 'none'}"
        )
        if not open_slices:
            break
    return decided, done, walls


def _frame(runs: list[JobResult]) -> pd.DataFrame:
    return pd.concat([read_run(r.out).results for r in runs], ignore_index=True)


def run_key_of(looks: int, keys: list[str]) -> str:
    """The merged run's key: 16 hex of SHA-256 over the design size and the looks' keys."""
    return hashlib.sha256("|".join(["sequential", str(looks), *keys]).encode()).hexdigest()[:16]


def merged_header(
    name: str, headers: list[RunHeader], df: pd.DataFrame, suite: SuiteManifest,
    design: SequentialDesign,
) -> RunHeader:  # fmt: skip
    """The header of a variant's merged sequential run from its looks' headers: the suite
    manifest over the items run, a key over the looks' keys, counts, merged perf (wall and
    computed requests summed, latency percentiles over every row; inter-token gaps are those
    of the look that computed most) and the design."""
    from evalcliff.runner.perf import run_perf

    last = headers[-1]
    wall = sum(h.perf.wall_s for h in headers)
    computed = sum(h.perf.requests_computed for h in headers)
    perf = PerfStats.model_validate(run_perf(df, wall, computed, []))
    busiest = max(headers, key=lambda h: h.perf.requests_computed)
    starts = [h.started_at for h in headers if h.started_at]
    ends = [h.finished_at for h in headers if h.finished_at]
    resumed = sum(h.perf.requests_resumed for h in headers)
    return RunHeader(
        run_key=run_key_of(design.looks, design.look_run_keys),
        variant=name,
        backend=last.backend,
        settings=last.settings,
        defaults_used=last.defaults_used,
        model=merged_model(headers),
        suite=suite,
        packages=last.packages,
        seed=last.seed,
        limit=None,
        sandbox_tier=next((h.sandbox_tier for h in headers if h.sandbox_tier), None),
        started_at=min(starts) if starts else None,
        finished_at=max(ends) if ends else None,
        n_items=len(df),
        n_errors=int(df["error"].notna().sum()),
        perf=perf.model_copy(update={"itl_s": busiest.perf.itl_s, "requests_resumed": resumed}),
        sequential=design,
    )


def merged_model(headers: list[RunHeader]) -> ModelIdentity:
    """The last look's model identity, with what every look's server said: the answering
    models and fingerprints of all looks, and `changed_on_resume` when a look resumed across
    a server change or two consecutive looks share no answering model or no fingerprint
    (the server changed between looks)."""
    last = headers[-1].model
    servers = [h.model.server for h in headers if h.model.server is not None]
    if last.server is None or not servers:
        return last
    from evalcliff.runner.run import server_changes

    changes = [s.changed_on_resume for s in servers if s.changed_on_resume]
    for k, (a, b) in enumerate(zip(servers, servers[1:], strict=False), start=1):
        changes += [
            f"{change} between looks {k}, {k + 1}"
            for change in server_changes(
                (a.answered_by, a.system_fingerprints), (b.answered_by, b.system_fingerprints)
            )
        ]
    server = last.server.model_copy(
        update={
            "answered_by": sorted({m for s in servers for m in s.answered_by}),
            "system_fingerprints": sorted({f for s in servers for f in s.system_fingerprints}),
            "changed_on_resume": "; ".join(changes) or None,
        }
    )
    return last.model_copy(update={"server": server})


def run_sequential(
    items: list[Item],
    looks: int,
    *,
    base: str,
    cand: str,
    suite: SuiteManifest,
    manifest_of: Callable[[list[Item]], SuiteManifest],
    policy: Policy,
    runs: Path,
    run_look: RunLook,
    echo: Callable[[str], None] = lambda _line: None,
) -> SequentialResult:
    """Plan the looks over `items` (seeded by the build's seed, `suite.seed`), run them
    (`run_looks`), and write each variant's merged run to `merged_path(runs, NAME, looks)`.

    `manifest_of` gives the suite manifest of a list of items (the merged runs' manifest
    covers the items actually run). Raises EvalcliffError when a merged file would replace a
    fixed-n run, or when a look fails (finished looks are kept: the same command resumes).
    """
    from evalcliff.locking import exclusive

    names = list(dict.fromkeys([base, cand]))
    for name in names:
        refuse_fixed_overwrite(merged_path(runs, name, looks))
    plan = plan_looks(items, looks, suite.seed)
    decided, done, walls = run_looks(
        items, plan, base=base, cand=cand, suite=suite, policy=policy, run_look=run_look,
        echo=echo,
    )  # fmt: skip
    order = {it.item_id: k for k, it in enumerate(items)}
    ran = {it for r in done[base] for it in read_run(r.out).results["item_id"]}
    used = [it for it in items if it.item_id in ran]
    manifest = manifest_of(used)
    paths: dict[str, Path] = {}
    headers: dict[str, RunHeader] = {}
    for name in names:
        runs_of = done[name]
        df = _frame(runs_of)
        df = df.iloc[df["item_id"].map(order).argsort(kind="stable")].reset_index(drop=True)
        look_headers = [r.header for r in runs_of]
        design = SequentialDesign(
            looks=looks,
            confidence=policy.confidence,
            boundary_constant=boundary_at(1.0, looks, policy.confidence),
            seed=suite.seed,
            look_run_keys=[h.run_key for h in look_headers],
            look_wall_s=walls,
            slices=decided,
        )
        header = merged_header(name, look_headers, df, manifest, design)
        out = merged_path(runs, name, looks)
        with exclusive(out, f"results file {out}"):
            refuse_fixed_overwrite(out)
            write_run(df, out, header)
        paths[name], headers[name] = out, header
    return SequentialResult(paths, headers, decided, used)


@contextlib.contextmanager
def many_runner(
    variants: dict[str, VariantConfig],
    spec: SuiteSpec,
    runs: Path,
    looks: int,
    opts: RunOptions,
    parallel: int,
    items: list[Item],
) -> Iterator[RunLook]:
    """The `RunLook` of `report`, for the length of a `with` block: the look's items for
    every variant, each written to `look_path`, logs in RUNS/logs. `items` are every item a
    look may run.

    When all variants run side by side (`parallel` >= their number) they run in a
    `RunPool`: one worker per variant for all the looks, its model loaded once (a look
    otherwise pays a worker start and a model load, ~5 s on the embedded model). Else
    each look runs through `run_many`, as many at once as `parallel` allows, so no more
    models are in memory at once than a fixed-n run would hold."""
    from evalcliff.runner.many import RunJob, RunPool, run_many

    logs = {n: runs / "logs" / f"{safe_name(n)}.log" for n in variants}

    def outs(look: int) -> dict[str, Path]:
        return {n: look_path(runs, n, looks, look) for n in variants}

    if parallel >= len(variants):
        with RunPool(variants, spec, items, opts, logs) as pool:
            yield lambda look, delta: pool.run(outs(look), delta)
        return

    def run(look: int, delta: list[Item]) -> dict[str, JobResult]:
        jobs = [RunJob(n, v, outs(look)[n], logs[n]) for n, v in variants.items()]
        return run_many(jobs, spec, delta, opts, parallel=parallel)

    yield run
