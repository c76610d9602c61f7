"""Run one variant over a suite build: lm-eval generates, evalcliff scores, one file is written.

Persistence: every finished request is committed to the run's own lm-eval SQLite cache
(`.evalcliff/runs/NAME-KEY/`) as it completes. An interrupted run, started again with the
same arguments, takes finished items from that cache and computes only the rest; the run
artifact (rows + header in one parquet file) is written atomically once all items are done.

Reuse: a finished run is reused only when its run key matches, it has no error rows, and its
weights could be fingerprinted. A served model's finished run is never reused and its cached
answers are never replayed: the next run asks the server again. Its *interrupted* run resumes
only into the same output file and within `SERVED_RESUME_MAX_AGE_S` of its last answer (a
server can change between two runs: a week-old partial run, or one meant for another file,
is not this run's data); the header counts the resumed answers and lists every answer's
served model and fingerprint. The output file and the run cache are each held under an
exclusive lock.
"""

from __future__ import annotations

import gc
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from evalcliff.config.variants import VariantConfig
from evalcliff.errors import ERROR_PREFIX, EvalcliffError
from evalcliff.locking import exclusive
from evalcliff.paths import cache_dir
from evalcliff.results.io import read_run, write_run
from evalcliff.runner import journal, lmeval
from evalcliff.runner.backend import HeldBackend, loaded_backend
from evalcliff.runner.collect import EarlyCodeScorer, per_item_metrics, score_outputs
from evalcliff.runner.identity import run_key, safe_name, weights_fingerprint
from evalcliff.runner.perf import inter_token_gaps, run_perf
from evalcliff.schema.manifest import SuiteManifest
from evalcliff.schema.run import MemoryEstimate, ModelIdentity, PerfStats, RunHeader, ServerInfo
from evalcliff.suites.build import build_items, limit_items, manifest
from evalcliff.suites.items import Item
from evalcliff.suites.spec import SuiteSpec

# An interrupted run of a served model resumes only this soon after its last answer.
SERVED_RESUME_MAX_AGE_S = 6 * 3600

PACKAGES = ["evalcliff", "lm_eval", "torch", "transformers", "numpy", "pandas", "scipy"]


@dataclass(frozen=True)
class RunOutcome:
    """Where a run wrote its results, whether it reused a finished one, and its header."""

    results_path: Path
    reused: bool
    header: RunHeader
    seconds: float

    @property
    def n_items(self) -> int:
        return self.header.n_items

    @property
    def n_errors(self) -> int:
        return self.header.n_errors


def _versions() -> dict[str, str]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _scalar(value: Any) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def model_identity(raw: dict[str, Any], fingerprint: str | None) -> ModelIdentity:
    """A backend's identity facts as a typed record (unknown facts kept as `details`)."""
    known = [
        *("path", "materialized", "compute_dtype", "threads"),
        *("endpoints", "model_name", "server_command"),
    ]
    fields: dict[str, Any] = {k: raw[k] for k in known if raw.get(k) is not None}
    for k in ("path", "materialized"):  # backends may hand over Path objects
        if k in fields:
            fields[k] = str(fields[k])
    mem = raw.get("memory_estimate")
    details = {
        k: _scalar(v)
        for k, v in raw.items()
        if k not in known and k not in ("memory_estimate", "context_length")
    }
    return ModelIdentity(
        weights_fingerprint=fingerprint,
        memory_estimate=MemoryEstimate.model_validate(mem) if isinstance(mem, dict) else None,
        context_length=raw.get("context_length"),
        details=details,
        **fields,
    )


def defaults_used(variant: VariantConfig) -> list[str]:
    """Settings of `variant` that were not given and took their default."""
    from evalcliff.config.variants import settings_from_defaults

    return list(settings_from_defaults(variant))


def _existing_header(out: Path) -> RunHeader | None:
    """The header of the run already at `out`, if it can be read."""
    if not out.exists():
        return None
    try:
        return read_run(out).header
    except EvalcliffError:
        return None


def _reset(rdir: Path) -> None:
    """Empty a run cache directory (its lock file stays: we hold it)."""
    for p in rdir.iterdir():
        if p.name == ".lock":
            continue
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()


def _state(rdir: Path) -> str:
    try:
        return str(json.loads((rdir / "state.json").read_text()).get("status", ""))
    except (OSError, json.JSONDecodeError):
        return ""


def _stale_partial(rdir: Path, out: Path) -> str | None:
    """Why a served model's interrupted run in `rdir` must not resume into `out` (None: it
    may): it was meant for another output file, or its last answer is too old."""
    try:
        state = json.loads((rdir / "state.json").read_text())
    except (OSError, json.JSONDecodeError):
        state = {}
    meant = state.get("out") if isinstance(state, dict) else None
    if meant != str(out.resolve()):
        return f"it was writing {meant or 'an unknown file'}"
    last = max(
        (p.stat().st_mtime for p in (rdir / "journal.jsonl", rdir / "state.json") if p.exists()),
        default=0.0,
    )
    age = time.time() - last
    if age > SERVED_RESUME_MAX_AGE_S:
        limit = SERVED_RESUME_MAX_AGE_S // 3600
        return f"its last answer is {age / 3600:.1f} h old (limit {limit} h)"
    return None


def answered_by(
    records: dict[str, dict[str, Any]], hashes: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(served model names, system fingerprints) that the requests `hashes` were answered
    with, from the backend's per-request records (`journal.read_records` of its metrics)."""
    models: set[str] = set()
    fingerprints: set[str] = set()
    for h in hashes:
        rec = records.get(h, {})
        if isinstance(rec.get("served_model"), str) and rec["served_model"]:
            models.add(rec["served_model"])
        if isinstance(rec.get("fingerprint"), str) and rec["fingerprint"]:
            fingerprints.add(rec["fingerprint"])
    return sorted(models), sorted(fingerprints)


def server_changes(old: tuple[list[str], list[str]], new: tuple[list[str], list[str]]) -> list[str]:
    """How two sets of answers' (served models, fingerprints) show a server change: each
    kind that both name and that shares no value ("model a -> b"). A fleet of replicas
    answering both shares its names and fingerprints, so it is no change."""
    return [
        f"{what} {', '.join(x)} -> {', '.join(y)}"
        for what, x, y in (("model", old[0], new[0]), ("fingerprint", old[1], new[1]))
        if x and y and not set(x) & set(y)
    ]


def server_change(
    records: dict[str, dict[str, Any]], hashes: dict[str, str], before: set[str]
) -> str | None:
    """What changed between the answers an interrupted process left (request hashes in
    `before`) and this process's (`server_changes`); None when nothing shows a change."""
    fresh = [h for h in hashes.values() if h not in before]
    old = [h for h in hashes.values() if h in before]
    if not fresh or not old:
        return None
    return "; ".join(server_changes(answered_by(records, old), answered_by(records, fresh))) or None


def _set_state(rdir: Path, status: str, **extra: Any) -> None:
    tmp = rdir / "state.json.tmp"
    tmp.write_text(json.dumps({"status": status, **extra}))
    tmp.replace(rdir / "state.json")


def _too_long(
    lm: Any, spec: SuiteSpec, items: list[Item], contexts: dict[str, str]
) -> tuple[int | None, dict[str, str]]:
    """(the model's context length in tokens, or None when evalcliff cannot see it; item_id ->
    error text for requests (`contexts`: the prompt with its system prompt and chat
    template) that do not fit it with room for the slice's generation, which lm-eval would
    cut the beginning off without a word)."""
    budget = lmeval.context_budget(lm)
    if budget is None:
        return None, {}
    context, count = budget
    out = {}
    for it in items:
        gen = spec.slices[it.slice].generation.max_gen_toks
        n = count(contexts[it.item_id])
        if n + gen > context:
            out[it.item_id] = (
                f"prompt is {n} tokens (+{gen} to generate), context is {context} tokens; "
                "refused rather than truncated"
            )
    return context, out


def code_sandbox_tier(spec: SuiteSpec, allow_unsandboxed: bool) -> str | None:
    """The sandbox tier generated code will run under (None: no code slice); refuses, before
    any work, a tier below the namespaces one unless `allow_unsandboxed`."""
    if not any(sl.scorer == "code" and sl.lm_eval_task is None for sl in spec.slices.values()):
        return None
    from evalcliff.scoring import sandbox

    return str(sandbox.require_isolation(allow_unsandboxed))


def prepare_items(
    spec: SuiteSpec,
    *,
    seed: int | None = None,
    limit: int | None = None,
    items: list[Item] | None = None,
    tokenizer: str | None = None,
) -> tuple[list[Item], SuiteManifest]:
    """The items a run sees (built, or given; cut to `limit` per stratum) and their manifest."""
    seed = spec.seed if seed is None else seed
    if items is None:
        items = build_items(spec, seed, tokenizer=tokenizer)
    items = limit_items(items, limit, seed)
    return items, manifest(spec, items, seed, limit)


def run_variant(
    name: str,
    variant: VariantConfig,
    spec: SuiteSpec,
    out: Path,
    *,
    seed: int | None = None,
    force: bool = False,
    limit: int | None = None,
    items: list[Item] | None = None,
    tokenizer: str | None = None,
    allow_unsandboxed: bool = False,
    on_item: Callable[[], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    held: HeldBackend | None = None,
) -> RunOutcome:
    """Run `variant` (called `name`) over `spec`, writing the run artifact `out` (.parquet).

    `items` are the suite's built items (built here when None); `limit` keeps that many items
    per stratum (seeded). `on_total`/`on_item` report progress. `held` keeps the loaded
    backend for the next run in this process (else it is loaded for this run and dropped).
    Raises EvalcliffError on bad input, before any work, or when the backend fails (finished
    items stay cached for a rerun).
    """
    t0 = time.time()
    out = Path(out)
    if out.suffix != ".parquet":
        raise EvalcliffError(f"--out {out}: a run is written as a .parquet file")
    seed = spec.seed if seed is None else seed
    items, suite_manifest = prepare_items(
        spec, seed=seed, limit=limit, items=items, tokenizer=tokenizer
    )
    tier = code_sandbox_tier(spec, allow_unsandboxed)
    fingerprint = weights_fingerprint(variant)
    key = run_key(variant, fingerprint, suite_manifest)
    with exclusive(out, f"results file {out}"):
        previous = _existing_header(out)
        if previous is not None and previous.limit is None and limit is not None:
            raise EvalcliffError(
                f"{out} holds a full run of {previous.variant!r}; a limited run (--limit "
                f"{limit}) will not overwrite it: choose another --out"
            )
        if (
            not force
            and previous is not None
            and previous.run_key == key
            and previous.n_errors == 0
            and fingerprint is not None
        ):
            if on_total is not None:
                on_total(previous.n_items)
            return RunOutcome(out, True, previous, time.time() - t0)
        rdir = cache_dir() / "runs" / f"{safe_name(name)}-{key}"
        rdir.mkdir(parents=True, exist_ok=True)
        with exclusive(rdir, f"run cache {rdir}"):
            try:
                header = _execute(
                    name, variant, spec, items, suite_manifest, rdir, out,
                    key=key, fingerprint=fingerprint, seed=seed, limit=limit, tier=tier,
                    allow_unsandboxed=allow_unsandboxed, force=force,
                    on_item=on_item, on_total=on_total, held=held,
                )  # fmt: skip
            finally:
                gc.unfreeze()  # what `load_backend` froze can be collected again
    return RunOutcome(out, False, header, time.time() - t0)


def _execute(
    name: str,
    variant: VariantConfig,
    spec: SuiteSpec,
    items: list[Item],
    suite_manifest: SuiteManifest,
    rdir: Path,
    out: Path,
    *,
    key: str,
    fingerprint: str | None,
    seed: int,
    limit: int | None,
    tier: str | None,
    allow_unsandboxed: bool,
    force: bool,
    on_item: Callable[[], None] | None,
    on_total: Callable[[int], None] | None,
    held: HeldBackend | None,
) -> RunHeader:
    """Generate (resuming from the run cache), score and write; the caller holds the locks."""
    # A served model's finished run is never replayed: start its cache afresh. An interrupted
    # one ("running") resumes. --force always starts afresh.
    if force or (fingerprint is None and _state(rdir) == "finished"):
        _reset(rdir)
    elif fingerprint is None and _state(rdir) == "running":
        stale = _stale_partial(rdir, out)
        if stale is not None:
            print(
                f"evalcliff: {name}: not resuming the interrupted run in {rdir} ({stale}); "
                "asking the server again",
                file=sys.stderr,
                flush=True,
            )
            _reset(rdir)
    _set_state(rdir, "running", out=str(out.resolve()))
    # a run killed before its clean-up may have left failures in the cache: never replay them
    for db in rdir.glob("requests*.db"):
        lmeval.purge_errors(db, ERROR_PREFIX)
    if on_total is not None:
        on_total(len(items))
    journal_path = rdir / "journal.jsonl"
    metrics_path = rdir / "request_metrics.jsonl"
    started = datetime.now(UTC).isoformat()
    chat = variant.prompting == "chat"
    with loaded_backend(name, variant, rdir, items, held) as (lm, raw_identity):
        if chat and lm.chat_template(True) is None:
            raise EvalcliffError(
                f"variant {name!r}: prompting = 'chat' but its tokenizer has no chat template; "
                "use prompting = 'completion' or a checkpoint with a chat template"
            )
        requests = lmeval.item_requests(
            lm, spec, items, chat=chat, system_prompt=variant.system_prompt
        )
        contexts = {iid: ctx for iid, (ctx, _) in requests.items()}
        context, refused = _too_long(lm, spec, items, contexts)
        if context is not None:
            raw_identity.setdefault("context_length", context)
        early = EarlyCodeScorer(spec, items, allow_unsandboxed, contexts)
        lmeval.install_journal(lm, journal_path, on_item, early.offer)
        if hasattr(lm, "metrics_path"):
            lm.metrics_path = metrics_path
        answered_before = set(journal.read_latencies(journal_path))  # request hashes
        done_before = len(answered_before)
        gaps_before = len(inter_token_gaps(metrics_path))
        for _ in refused:
            if on_item is not None:
                on_item()
        runnable = [it for it in items if it.item_id not in refused]
        # code items first: their sandboxed tests then run while the rest is generated
        order = sorted(runnable, key=lambda it: spec.slices[it.slice].scorer != "code")
        gen_t0 = time.perf_counter()
        try:
            outputs, hashes = lmeval.generate_items(
                lm, [(it.item_id, *requests[it.item_id]) for it in order], rdir / "requests",
                seed=seed,
            )  # fmt: skip
            samples = lmeval.lm_eval_task_samples(
                lm, spec, rdir / "requests",
                chat=chat, system_prompt=variant.system_prompt, seed=seed,
            )  # fmt: skip
        except (KeyboardInterrupt, EvalcliffError):
            early.close()
            raise
        except Exception as exc:
            early.close()
            raise EvalcliffError(
                f"variant {name!r} failed after partial progress "
                f"({exc.__class__.__name__}: {exc}); finished items are kept in {rdir} "
                "and a rerun resumes from them"
            ) from exc
        finally:
            # failures are cached by lm-eval like answers: drop them so a rerun retries them
            for db in rdir.glob("requests*.db"):
                lmeval.purge_errors(db, ERROR_PREFIX)
        gen_wall = time.perf_counter() - gen_t0
        server: ServerInfo | None = None
        if hasattr(lm, "server_info"):
            server = lm.server_info()
            records = journal.read_records(metrics_path)
            models, prints = answered_by(records, hashes.values())
            server = server.model_copy(
                update={
                    "answered_by": models,
                    "system_fingerprints": sorted({*server.system_fingerprints, *prints}),
                    "changed_on_resume": server_change(records, hashes, answered_before),
                }
            )
    try:
        outputs.update({iid: ERROR_PREFIX + why for iid, why in refused.items()})
        metrics = per_item_metrics(hashes, rdir)
        if hasattr(lm, "tok_encode"):  # local models: count output tokens with their tokenizer
            for iid, m in metrics.items():
                if m.get("output_tokens") is None and not outputs[iid].startswith(ERROR_PREFIX):
                    m["output_tokens"] = len(lm.tok_encode(outputs[iid]))
        df = score_outputs(
            spec, items, outputs, metrics, allow_unsandboxed=allow_unsandboxed, early=early
        )
    finally:
        early.close()
    extra = lmeval.lm_eval_rows(spec, samples)
    if extra:
        df = pd.concat([df, pd.DataFrame(extra)], ignore_index=True)
    computed = len(journal.read_latencies(journal_path)) - done_before
    fresh = ~df["item_id"].map(hashes).isin(answered_before)  # computed in this process
    perf = run_perf(
        df, gen_wall, computed, inter_token_gaps(metrics_path)[gaps_before:], fresh=fresh
    )
    perf["requests_resumed"] = done_before
    identity = model_identity(raw_identity, fingerprint)
    if server is not None:
        identity = identity.model_copy(update={"server": server})
    header = RunHeader(
        run_key=key,
        variant=name,
        backend=variant.backend,
        settings=variant.model_dump(mode="json"),
        defaults_used=defaults_used(variant),
        model=identity,
        suite=suite_manifest,
        packages=_versions(),
        seed=seed,
        limit=limit,
        sandbox_tier=tier,
        started_at=started,
        finished_at=datetime.now(UTC).isoformat(),
        n_items=len(df),
        n_errors=int(df["error"].notna().sum()),
        perf=PerfStats.model_validate(perf),
    )
    # Mark the cache finished before the file lands: a crash in between makes the next run
    # of a served model ask again rather than replay.
    _set_state(rdir, "finished", run_key=key)
    write_run(df, out, header)
    return header
