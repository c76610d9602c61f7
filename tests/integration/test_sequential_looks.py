"""Sequential mode's orchestration without a model: look assignment, the look loop with a
stand-in runner (errors, empty looks, exhausted slices), the merged runs and their gate."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from evalcliff.compare import compare_files
from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy
from evalcliff.results.io import read_run, write_results, write_run
from evalcliff.runner.many import JobResult
from evalcliff.schema.run import PerfStats, RunHeader
from evalcliff.sequential import (
    RunLook,
    SequentialResult,
    merged_path,
    plan_looks,
    run_sequential,
)
from evalcliff.suites.build import build_items, manifest
from evalcliff.suites.items import Item
from evalcliff.suites.spec import load_suite


def _items(n_clusters: int, per_cluster: int, strata: int) -> list[Item]:
    out = []
    for s in range(strata):
        for c in range(n_clusters):
            for j in range(per_cluster):
                iid = f"x/s{s}/c{c}/{j}"
                cluster = f"x/s{s}/c{c}"
                it = Item(item_id=iid, suite="t", slice="x", stratum=f"s={s}",
                          cluster_id=cluster, prompt=iid, target="a")  # fmt: skip
                out.append(it)
    return out


def test_looks_are_stratified_cluster_whole_and_seeded() -> None:
    items = _items(n_clusters=20, per_cluster=3, strata=3)
    plan = plan_looks(items, 4, seed=7)
    assert plan.planned["x"] == [45, 90, 135, 180]
    for stratum in ("s=0", "s=1", "s=2"):  # every look holds every stratum in proportion
        per_look = Counter(plan.look[it.item_id] for it in items if it.stratum == stratum)
        assert sorted(per_look) == [1, 2, 3, 4] and set(per_look.values()) == {15}
    clusters: dict[str, set[int]] = {}
    for it in items:
        clusters.setdefault(it.cluster_id, set()).add(plan.look[it.item_id])
    assert all(len(v) == 1 for v in clusters.values())  # a cluster never spans looks
    assert plan_looks(items, 4, seed=7).look == plan.look
    assert plan_looks(items, 4, seed=8).look != plan.look
    # a stratum with fewer items than looks leaves the last looks empty for it
    tiny = plan_looks(_items(n_clusters=3, per_cluster=1, strata=2), 4, seed=0)
    assert tiny.planned["x"] == [2, 4, 6, 6]
    with pytest.raises(EvalcliffError, match="at least 2 looks"):
        plan_looks(items, 1, seed=0)


def _fake_runner(
    spec_path: Path, out: Path, wrong: dict[str, set[str]], errors: dict[str, set[str]]
) -> tuple[list[tuple[int, list[str]]], RunLook]:
    """A RunLook that writes each variant's look as a run artifact: a slice in
    `wrong[variant]` answers wrong, one in `errors[variant]` errors on every item."""
    spec = load_suite(str(spec_path))
    calls: list[tuple[int, list[str]]] = []

    def run(look: int, delta: list[Item]) -> dict[str, JobResult]:
        calls.append((look, sorted({it.slice for it in delta})))
        done = {}
        for name in ("base", "cand"):
            bad, err = wrong.get(name, set()), errors.get(name, set())
            rows = pd.DataFrame(
                {
                    "item_id": [it.item_id for it in delta],
                    "suite": spec.name,
                    "slice": [it.slice for it in delta],
                    "stratum": [it.stratum for it in delta],
                    "cluster_id": [it.cluster_id for it in delta],
                    "prompt_hash": [it.prompt_hash for it in delta],
                    "output": "o",
                    "target": [it.target for it in delta],
                    "score": [0.0 if it.slice in bad | err else 1.0 for it in delta],
                    "correct": [it.slice not in bad | err for it in delta],
                    "catastrophic": False,
                    "error": ["boom" if it.slice in err else None for it in delta],
                    "latency_s": 0.5,
                }
            )
            header = RunHeader(
                run_key=f"{name}-{look}",
                variant=name,
                backend="mock",
                suite=manifest(spec, delta, spec.seed),
                n_items=len(rows),
                n_errors=int(rows["error"].notna().sum()),
                perf=PerfStats(requests_computed=len(rows), wall_s=0.5 * len(rows)),
            )
            path = out / f"{name}.look{look}.parquet"
            write_run(rows, path, header)
            done[name] = JobResult(name, path, header, False, 0.5 * len(rows))
        return done

    return calls, run


BIG_SUITE = """\
name: big
version: 1
seed: 5
slices:
  head:
    generator: head
    scorer: exact
    weight: 0.8
    margin: 0.05
    strata: {task: [succ, copy]}
    items_per_stratum: 120
  long_context:
    generator: kv_retrieval
    scorer: exact
    weight: 0.1
    margin: 0.05
    strata: {len: [64], depth: [0.5]}
    items_per_stratum: 40
  low_resource:
    generator: native_digits
    scorer: script
    weight: 0.1
    margin: 0.05
    strata: {lang: [hi, km]}
    items_per_stratum: 3
"""


def _run(
    tmp_path: Path, wrong: dict[str, set[str]], errors: dict[str, set[str]]
) -> tuple[SequentialResult, list[tuple[int, list[str]]], list[Item]]:
    suite = tmp_path / "big.yaml"
    suite.write_text(BIG_SUITE)
    spec = load_suite(str(suite))
    items = build_items(spec)
    calls, runner = _fake_runner(suite, tmp_path, wrong, errors)
    result = run_sequential(
        items, 4, base="base", cand="cand", suite=manifest(spec, items, spec.seed),
        manifest_of=lambda used: manifest(spec, used, spec.seed),
        policy=Policy(n_resamples=1000), runs=tmp_path / "runs", run_look=runner,
    )  # fmt: skip
    return result, calls, items


def test_the_loop_stops_decided_slices_and_survives_errors_and_empty_looks(
    tmp_path: Path,
) -> None:
    result, calls, items = _run(
        tmp_path, wrong={"cand": {"head"}}, errors={"cand": {"long_context"}}
    )
    d = result.decided
    # head: every item flipped down, decided at look 1; it gets no more items
    assert d["head"].stopped_at == 1 and d["head"].decision == "fail"
    # low_resource: 3 items per stratum, so look 4 holds none of it: final at look 3
    assert d["low_resource"].planned == [2, 4, 6, 6] and d["low_resource"].stopped_at == 3
    # long_context: every cand item errors; it never decides, runs to the end
    assert d["long_context"].stopped_at == 4 and d["long_context"].decision == "inconclusive"
    assert calls[0] == (1, ["head", "long_context", "low_resource"])
    assert all("head" not in slices for _, slices in calls[1:])
    assert calls[-1] == (4, ["long_context"])
    # merged runs: the items actually run, in build order, with the design in the header
    merged = read_run(result.paths["cand"])
    assert merged.header is not None and merged.header.sequential is not None
    assert merged.header.n_items == len(merged.results) == len(result.items) == 60 + 40 + 6
    assert merged.header.suite.n_items == 106 and merged.header.n_errors == 40
    assert merged.header.sequential.look_run_keys == ["cand-1", "cand-2", "cand-3", "cand-4"]
    assert len(merged.header.sequential.look_wall_s) == 4
    order = {it.item_id: k for k, it in enumerate(items)}
    assert list(merged.results["item_id"].map(order)) == sorted(
        order[i] for i in merged.results["item_id"]
    )
    assert merged.header.perf.requests_computed == 106
    # the gate judges the merged runs by the design
    out = tmp_path / "rep"
    _, code, summary_path = compare_files(result.paths["base"], result.paths["cand"], None, out)
    summary = json.loads(summary_path.read_text())
    assert code == 1 and summary["verdict"] == "no-go"
    rows = {s["slice"]: s for s in summary["slices"]}
    assert (
        rows["head"]["sequential"]["look"] == 1 and rows["head"]["sequential"]["items_max"] == 240
    )
    assert rows["long_context"]["guards"] == ["no_pairs", "errors"]
    seq = summary["sequential"]
    assert seq["items_used"] == 106 and seq["items_max"] == 286 and seq["items_saved"] == 180
    assert seq["seconds_per_item"] == {"base": 0.5, "cand": 0.5}
    assert seq["seconds_saved_estimate"] == pytest.approx(180.0)
    assert seq["looks_wall_s"] is not None


def test_a_merged_file_never_replaces_a_fixed_n_run(tmp_path: Path) -> None:
    result, _, _ = _run(tmp_path, wrong={}, errors={})
    path = merged_path(tmp_path / "runs", "cand", 4)
    run = read_run(path)
    assert run.header is not None
    write_run(run.results, path, run.header.model_copy(update={"sequential": None}))
    with pytest.raises(EvalcliffError, match="holds a fixed-n run of 'cand'"):
        _run(tmp_path, wrong={}, errors={})


def test_compare_refuses_runs_with_different_designs(tmp_path: Path) -> None:
    result, _, _ = _run(tmp_path, wrong={}, errors={})
    cand = read_run(result.paths["cand"])
    assert cand.header is not None and cand.header.sequential is not None
    design = cand.header.sequential
    other = design.model_copy(update={"looks": 5})
    path = tmp_path / "other.parquet"
    write_run(cand.results, path, cand.header.model_copy(update={"sequential": other}))
    with pytest.raises(EvalcliffError, match="different sequential designs"):
        compare_files(result.paths["base"], path, None, tmp_path / "rep")


def test_one_side_carrying_the_design_is_enough(tmp_path: Path) -> None:
    # a headerless copy of the candidate (JSONL rows only) is still judged by the design
    result, _, _ = _run(tmp_path, wrong={}, errors={})
    rows = tmp_path / "cand.jsonl"
    write_results(read_run(result.paths["cand"]).results, rows)
    _, _, summary_path = compare_files(result.paths["base"], rows, None, tmp_path / "rep")
    summary = json.loads(summary_path.read_text())
    assert summary["sequential"]["looks"] == 4
    assert all(s["sequential"] is not None for s in summary["slices"])
