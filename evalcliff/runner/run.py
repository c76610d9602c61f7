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
from evalcliff.runner.collect import ERROR_PREFIX, collect_outputs, per_item_metrics, score_outputs
from evalcliff.runner.lmeval_tasks import (
    lm_eval_rows,
    lm_eval_slices,
    lm_eval_task_manager,
    task_configs,
)
from evalcliff.runner.perf import inter_token_gaps, run_perf
from evalcliff.serve import served
from evalcliff.suites.build import build_items, limit_items, manifest
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


def _weights_fingerprint(variant: VariantConfig) -> str | None:
    """What identifies the weights behind `variant.model`: the embedded model's weights hash;
    size and mtime of a local file or checkpoint directory; None for a served model name."""
    if variant.model == "embedded":
        from evalcliff.embedded import MODEL_DIR
        from evalcliff.embedded.variants import source_weights_hash

        return source_weights_hash(MODEL_DIR)
    path = Path(variant.model)
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
    stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]
    return json.dumps(stats) if stats else None


def _identity_key(variant: VariantConfig, suite_manifest: dict[str, Any]) -> str:
    blob = json.dumps(
        {
            "variant": variant.model_dump(),
            "weights": _weights_fingerprint(variant),
            "suite": suite_manifest["content_hash"],
        },
        sort_keys=True,
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
    with served(name, variant, rdir) as (run_v, served_identity):
        lm, identity = make_lm(run_v, items)
        identity.update(served_identity)
        if variant.prompting == "chat" and lm.chat_template(True) is None:
            raise EvalcliffError(
                f"variant {name!r}: prompting = 'chat' but its tokenizer has no chat template; "
                "use prompting = 'completion' or a checkpoint with a chat template"
            )
        journal.install(lm, journal_path)
        metrics_path = rdir / "request_metrics.jsonl"
        if hasattr(lm, "metrics_path"):
            lm.metrics_path = metrics_path
        done_before = len(journal.read_latencies(journal_path))
        gaps_before = len(inter_token_gaps(metrics_path))
        gen_t0 = time.perf_counter()

        import lm_eval
        import lm_eval.evaluator
        from lm_eval.tasks import TaskManager

        # lm-eval shells out to `git describe` for its own log and prints "fatal: not a git
        # repository" outside one; evalcliff records versions in the run header instead.
        lm_eval.evaluator.get_git_commit_hash = lambda: None

        logging.getLogger("lm-eval").setLevel(logging.ERROR)
        logging.getLogger("lm_eval").setLevel(logging.ERROR)
        common: dict[str, Any] = dict(
            model=lm,
            use_cache=str(rdir / "requests"),
            log_samples=True,
            bootstrap_iters=0,
            apply_chat_template=variant.prompting == "chat",
            system_instruction=variant.system_prompt,
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
        )
        samples: dict[str, list[dict[str, Any]]] = {}
        try:
            configs = task_configs(spec, items)
            if configs:
                res = lm_eval.simple_evaluate(
                    tasks=configs,
                    predict_only=True,
                    task_manager=TaskManager(include_defaults=False),
                    **common,
                )
                assert res is not None
                samples.update(res["samples"])
            if lm_eval_slices(spec):  # lm-eval's own tasks: their per-sample metrics are scores
                res = lm_eval.simple_evaluate(
                    tasks=sorted(set(lm_eval_slices(spec).values())),
                    task_manager=lm_eval_task_manager(spec),
                    **common,
                )
                assert res is not None
                samples.update(res["samples"])
        except (KeyboardInterrupt, EvalcliffError):
            raise
        except Exception as exc:
            raise EvalcliffError(
                f"variant {name!r} failed after partial progress "
                f"({exc.__class__.__name__}: {exc}); finished items are kept in {rdir} "
                "and a rerun resumes from them"
            ) from exc
        finally:
            # failures are cached by lm-eval like answers: drop them so a rerun retries them
            for db in rdir.glob("requests*.db"):
                journal.purge_errors(db, ERROR_PREFIX)
        gen_wall = time.perf_counter() - gen_t0
    outputs, hashes = collect_outputs(samples, spec, items)
    metrics = per_item_metrics(hashes, rdir)
    if hasattr(lm, "tok_encode"):  # local models: count output tokens with their tokenizer
        for iid, m in metrics.items():
            if m.get("output_tokens") is None and not outputs[iid].startswith(ERROR_PREFIX):
                m["output_tokens"] = len(lm.tok_encode(outputs[iid]))
    df = score_outputs(spec, items, outputs, metrics)
    extra = lm_eval_rows(spec, samples)
    if extra:
        df = pd.concat([df, pd.DataFrame(extra)], ignore_index=True)
    computed = len(journal.read_latencies(journal_path)) - done_before
    perf = run_perf(df, gen_wall, computed, inter_token_gaps(metrics_path)[gaps_before:])
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
    header_dict["perf"] = perf
    write_results(df, out, RunHeader.model_validate(header_dict))
    return RunOutcome(out, False, len(df), header.n_errors, time.time() - t0)
