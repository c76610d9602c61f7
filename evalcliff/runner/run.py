"""Run one variant over a suite: lm-eval generates, evalcliff scores, results are written.

Persistence: every finished request is committed to the variant's own lm-eval SQLite
cache as it completes (see `journal`). An interrupted run, rerun with the same arguments,
takes finished items from that cache and computes only the rest; the results table is
written (atomically) once all items are done. A finished run whose header matches
(suite content hash, model identity, settings) is reused unless `force`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from evalcliff.config.variants import VariantConfig
from evalcliff.errors import EvalcliffError
from evalcliff.paths import cache_dir
from evalcliff.results.io import header_path, write_results
from evalcliff.results.schema import RunHeader
from evalcliff.runner import journal
from evalcliff.runner.lmeval_tasks import task_configs, task_name
from evalcliff.scoring import get_scorer
from evalcliff.suites.build import build_items, limit_items, manifest
from evalcliff.suites.items import Item
from evalcliff.suites.spec import SuiteSpec

PACKAGES = ["evalcliff", "lm_eval", "torch", "transformers", "numpy", "pandas", "scipy"]


@dataclass
class RunOutcome:
    """Where a run wrote its results, and whether it reused a finished one."""

    results_path: Path
    reused: bool
    n_items: int
    n_errors: int
    seconds: float


def _versions() -> dict[str, str]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _identity_key(variant: VariantConfig, suite_manifest: dict[str, Any]) -> str:
    blob = json.dumps(
        {"variant": variant.model_dump(), "suite": suite_manifest["content_hash"]}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_dir_for(name: str, variant: VariantConfig, suite_manifest: dict[str, Any]) -> Path:
    """The cache directory of this (variant settings, suite content) pair."""
    return cache_dir() / "runs" / f"{name}-{_identity_key(variant, suite_manifest)}"


def _reusable(out: Path, key: str) -> bool:
    hp = header_path(out)
    if not (out.exists() and hp.exists()):
        return False
    try:
        return bool(json.loads(hp.read_text()).get("run_key") == key)
    except json.JSONDecodeError:
        return False


def score_outputs(
    spec: SuiteSpec, items: list[Item], outputs: dict[str, str], latencies: dict[str, float | None]
) -> pd.DataFrame:
    """Score every item's output with its slice's scorer into the results table."""
    from evalcliff.scoring.code import score_code_batch

    rows: list[dict[str, Any]] = []
    code_jobs = []
    for it in items:
        scorer_name = spec.slices[it.slice].scorer
        out = outputs.get(it.item_id)
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
            "latency_s": latencies.get(it.item_id),
        }
        rows.append(row)
        if out is None:
            row["error"] = "no output"
        elif scorer_name == "code":
            code_jobs.append((len(rows) - 1, it, out))
        else:
            s = get_scorer(scorer_name)(it, out)
            row.update(score=s.score, correct=s.correct, catastrophic=s.catastrophic)
    if code_jobs:
        results = score_code_batch([(it, out) for _, it, out in code_jobs])
        for (idx, _, _), s in zip(code_jobs, results, strict=True):
            rows[idx].update(score=s.score, correct=s.correct, catastrophic=s.catastrophic)
    return pd.DataFrame(rows)


def run_variant(
    name: str,
    variant: VariantConfig,
    spec: SuiteSpec,
    out: Path,
    *,
    seed: int | None = None,
    force: bool = False,
    limit: int | None = None,
) -> RunOutcome:
    """Run `variant` (called `name`) over `spec`, writing `out` (.parquet) and its header.

    `limit` keeps the first N items per slice (for quick checks). Raises EvalcliffError on
    bad input; a failing backend leaves the finished items in the cache for a rerun.
    """
    t0 = time.time()
    seed = spec.seed if seed is None else seed
    items = limit_items(build_items(spec, seed), limit)
    suite_manifest = manifest(spec, items, seed)
    key = _identity_key(variant, suite_manifest)
    if not force and _reusable(out, key):
        n = len(pd.read_parquet(out, columns=["item_id"]))
        return RunOutcome(out, True, n, 0, time.time() - t0)

    from evalcliff.backends import make_lm

    rdir = run_dir_for(name, variant, suite_manifest)
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "total").write_text(str(len(items)))
    journal_path = rdir / "journal.jsonl"
    started = datetime.now(UTC).isoformat()
    lm, identity = make_lm(variant, items)
    journal.install(lm, journal_path)

    import lm_eval
    from lm_eval.tasks import TaskManager

    logging.getLogger("lm-eval").setLevel(logging.ERROR)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    try:
        res = lm_eval.simple_evaluate(
            model=lm,
            tasks=task_configs(spec, items),
            use_cache=str(rdir / "requests"),
            predict_only=True,
            log_samples=True,
            bootstrap_iters=0,
            task_manager=TaskManager(include_defaults=False),
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        raise EvalcliffError(
            f"variant {name!r} failed after partial progress ({exc.__class__.__name__}: {exc}); "
            f"finished items are kept in {rdir} and a rerun resumes from them"
        ) from exc
    assert res is not None
    outputs, latencies = _collect(res["samples"], spec, items, journal_path)
    df = score_outputs(spec, items, outputs, latencies)
    header = RunHeader(
        variant=name,
        backend=variant.backend,
        backend_settings=variant.model_dump(),
        model=identity,
        suite=suite_manifest,
        packages=_versions(),
        seed=seed,
        started_at=started,
        finished_at=datetime.now(UTC).isoformat(),
        n_items=len(df),
        n_errors=int(df["error"].notna().sum()),
    )
    header_dict = header.model_dump()
    header_dict["run_key"] = key
    write_results(df, out, RunHeader.model_validate(header_dict))
    return RunOutcome(out, False, len(df), header.n_errors, time.time() - t0)


def _collect(
    samples: dict[str, list[dict[str, Any]]], spec: SuiteSpec, items: list[Item], journal_path: Path
) -> tuple[dict[str, str], dict[str, float | None]]:
    """item_id -> raw output text, and item_id -> latency (from the journal) ."""
    from lm_eval.api.model import hash_args

    lat_by_hash = journal.read_latencies(journal_path)
    outputs: dict[str, str] = {}
    latencies: dict[str, float | None] = {}
    for slice_name in spec.slices:
        for s in samples.get(task_name(spec.name, slice_name), []):
            iid = s["doc"]["item_id"]
            resp = s["filtered_resps"][0] if s["filtered_resps"] else s["resps"][0][0]
            outputs[iid] = resp if isinstance(resp, str) else str(resp)
            args = s.get("arguments")
            h = None
            if args:
                first = args[0] if isinstance(args, list) else next(iter(args.values()))
                h = hash_args("generate_until", first)
            latencies[iid] = lat_by_hash.get(h) if h else None
    missing = {it.item_id for it in items} - set(outputs)
    if missing:
        raise EvalcliffError(
            f"lm-eval returned no output for {len(missing)} items, e.g. {sorted(missing)[:3]}"
        )
    return outputs, latencies
