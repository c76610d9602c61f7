"""Compare two stored runs: read, check they are pairable, gate, write summary.json,
report.html, junit.xml and summary.md."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy, compare_runs, load_policy
from evalcliff.gate.integrity import (
    check_rows_match_header,
    refuse_unpairable,
    unchecked_build_note,
)
from evalcliff.locking import exclusive
from evalcliff.results import read_run
from evalcliff.schema.run import RunArtifact, SequentialDesign
from evalcliff.schema.summary import Summary
from evalcliff.textio import write_text_atomic

if TYPE_CHECKING:
    import pandas as pd


def sequential_design(base: RunArtifact, cand: RunArtifact) -> SequentialDesign | None:
    """The sequential design the two runs were sampled under (`report --sequential`), None
    for fixed-n runs. EvalcliffError when both carry one and they differ in looks or in any
    slice's planned items or stopping look: such runs were not sampled together."""
    designs = [r.header.sequential for r in (base, cand) if r.header is not None]
    found = [d for d in designs if d is not None]
    if not found:
        return None
    first = found[0]
    for other in found[1:]:
        same = other.looks == first.looks and {
            n: (s.planned, s.stopped_at) for n, s in other.slices.items()
        } == {n: (s.planned, s.stopped_at) for n, s in first.slices.items()}
        if not same:
            raise EvalcliffError(
                f"{base.path} and {cand.path} carry different sequential designs (looks or"
                " where slices stopped): they were not sampled together; run `report"
                " --sequential` for both again"
            )
    return first


def sequential_savings(summary: Summary) -> Summary:
    """`summary` with the time its sequential runs saved estimated from the run headers:
    each side's measured generation seconds per computed item (perf wall / requests
    computed) times the items it did not run, summed over both sides (once when both sides
    are the same run)."""
    seq = summary.sequential
    if seq is None:
        return summary
    per_item: dict[str, float | None] = {}
    for side, header in (("base", summary.base), ("cand", summary.cand)):
        perf = header.perf if header is not None else None
        ok = perf is not None and perf.requests_computed > 0 and perf.wall_s > 0
        per_item[side] = perf.wall_s / perf.requests_computed if perf and ok else None
    b, c = summary.base, summary.cand
    if b is not None and c is not None and b.run_key == c.run_key:  # one run, both sides
        per_item.pop("cand")
    known = [v for v in per_item.values() if v is not None]
    saved = sum(v * seq.items_saved for v in known) if len(known) == len(per_item) else None
    design = next((h.sequential for h in (b, c) if h is not None and h.sequential), None)
    walls = design.look_wall_s if design is not None else []
    update = {
        "seconds_per_item": per_item,
        "seconds_saved_estimate": saved,
        "looks_wall_s": round(sum(walls), 1) if walls else None,
    }
    return summary.model_copy(update={"sequential": seq.model_copy(update=update)})


def read_any(path: Path, metric: str | None = None) -> RunArtifact:
    """A run from an evalcliff results file (.parquet/.jsonl), or from lm-eval
    `--log_samples` output (a samples_*.jsonl file or its directory; `metric` picks the
    per-sample metric, see `evalcliff.results.lmeval_samples`)."""
    from evalcliff.results.lmeval_samples import is_lmeval_samples, read_lmeval_samples

    if is_lmeval_samples(path):
        return read_lmeval_samples(path, metric)
    if metric is not None:
        raise EvalcliffError(f"{path}: --metric applies to lm-eval samples only")
    return read_run(path)


# What `compare_files` writes, in the order it writes them (summary.json last).
REPORT_FILES = ("report.html", "junit.xml", "summary.md", "summary.json")


def _write(path: Path, write: Callable[[Path], object], what: str = "write") -> None:
    """`write(path)` ("create", "remove" or "write" it), an OSError (a full disk, no
    permission) becoming a one-line EvalcliffError naming the path: no summary.json is
    written then."""
    try:
        write(path)
    except OSError as exc:
        raise EvalcliffError(
            f"{path}: cannot {what} it: {exc.strerror or exc}; no summary.json was written"
        ) from None


def clear_report(out_dir: Path) -> None:
    """Remove a previous comparison's files from `out_dir` (summary.json first), under its
    lock, before anything that can fail: a comparison or report that then stops without a
    verdict (refused runs, a failed run) leaves no earlier verdict for CI to read."""
    if not out_dir.is_dir():
        return
    with exclusive(out_dir, f"report directory {out_dir}"):
        for name in reversed(REPORT_FILES):
            _write(out_dir / name, lambda path: path.unlink(missing_ok=True), "remove")


def compare_files(
    base_path: Path,
    cand_path: Path,
    policy_path: str | Path | None,
    out_dir: Path,
    divergence_path: Path | None = None,
    metric: str | None = None,
    prompts: Mapping[str, str] | None = None,
) -> tuple[str, int, Path]:
    """Write `out_dir/summary.json`, `report.html`, `junit.xml` (one testcase per slice) and
    `summary.md` (Markdown for a PR comment, also appended to `$GITHUB_STEP_SUMMARY` when
    that is set); return (banner, exit code, summary.json path).

    Both runs are read with their headers (`read_any`: lm-eval `--log_samples` output is read
    too, one slice per task, `metric` choosing the per-sample metric). A run whose rows
    disagree with its header, and two runs whose suite builds differ, are refused
    (EvalcliffError, exit 2; see `evalcliff.gate.integrity`). Slice margins,
    weights and catastrophic limits default to those of the base run's suite (the candidate's
    when the base has no header), overridden by the policy. `divergence_path` (per-item token KL
    / top-1 agreement, see `evalcliff.distribution`) adds descriptive metrics to every slice.
    `prompts` (item_id -> prompt text) shows the prompts in the report's flips browser.
    Raises EvalcliffError (NoDataError when every item of a run errored) before writing;
    also when a file cannot be written, after removing the previous comparison's files:
    `out_dir` never holds an old verdict beside a new one, and summary.json is written last.
    """
    from evalcliff.report import render_report
    from evalcliff.report.ci import append_step_summary, junit_xml, summary_markdown
    from evalcliff.results.lmeval_samples import is_lmeval_samples, read_lmeval_pair

    clear_report(out_dir)
    base: RunArtifact
    cand: RunArtifact
    if is_lmeval_samples(base_path) and is_lmeval_samples(cand_path):
        # one metric and filter per task for both sides (each run's label names them)
        base, cand = read_lmeval_pair(base_path, cand_path, metric)
    else:
        base, cand = read_any(base_path, metric), read_any(cand_path, metric)
    summary = compare_artifacts(base, cand, load_policy(policy_path), divergence_path)
    markdown = summary_markdown(summary)
    summary_path = out_dir / "summary.json"
    _write(out_dir, lambda path: path.mkdir(parents=True, exist_ok=True), "create")
    # one writer per report directory: summary.json and report.html always tell one verdict
    with exclusive(out_dir, f"report directory {out_dir}"):
        # The previous verdict goes first, so a write that fails (a full disk) leaves no old
        # file beside the new ones; summary.json, what CI reads, is removed first and written
        # last.
        for name in reversed(REPORT_FILES):
            _write(out_dir / name, lambda path: path.unlink(missing_ok=True), "remove")
        _write(
            out_dir / "report.html",
            lambda path: render_report(summary, base.results, cand.results, path, prompts),
        )
        _write(out_dir / "junit.xml", lambda path: write_text_atomic(path, junit_xml(summary)))
        _write(out_dir / "summary.md", lambda path: write_text_atomic(path, markdown))
        _write(
            summary_path, lambda path: write_text_atomic(path, summary.model_dump_json(indent=2))
        )
    try:
        append_step_summary(markdown)
    except OSError as exc:  # the verdict stands; the CI log says why the summary is missing
        print(f"evalcliff: warning: cannot append to $GITHUB_STEP_SUMMARY: {exc}",
              file=sys.stderr)  # fmt: skip
    return banner(summary), summary.exit_code, summary_path


def compare_artifacts(
    base: RunArtifact,
    cand: RunArtifact,
    policy: Policy,
    divergence_path: Path | None = None,
) -> Summary:
    """The typed Summary of two runs as read (see `compare_files`), headers attached.

    Runs that carry a sequential design (`report --sequential`) are judged by the
    sequential rule (repeated CIs at each slice's stopping look), never by fixed-n CIs."""
    check_rows_match_header(base)
    check_rows_match_header(cand)
    refuse_unpairable(base, cand)
    header = base.header or cand.header
    summary = compare_runs(
        base.results,
        cand.results,
        policy,
        header.suite if header is not None else None,
        base_label=base.label,
        cand_label=cand.label,
        sequential=sequential_design(base, cand),
    )
    summary = summary.model_copy(update={"base": base.header, "cand": cand.header})
    summary = sequential_savings(summary)
    notes = [
        n
        for n in (
            limited_run_note(base, cand),
            same_run_note(base, cand),
            unchecked_build_note(base, cand),
        )
        if n
    ]
    if notes:
        summary = summary.model_copy(update={"warnings": [*notes, *summary.warnings]})
    summary = stop_on_served_doubts(summary, served_doubts(base, cand))
    if divergence_path is not None:
        from evalcliff.distribution import attach_divergence

        summary = attach_divergence(
            summary,
            read_divergence(divergence_path),
            policy.n_resamples,
            policy.confidence,
            policy.seed,
        )
    return summary


def same_run_note(base: RunArtifact, cand: RunArtifact) -> str | None:
    """The warning for two runs of one configuration (same run key: same settings, weights
    and items), e.g. the same file given twice: an A/A comparison, not a candidate's test."""
    if base.header is None or cand.header is None:
        return None
    if base.header.run_key != cand.header.run_key:
        return None
    return (
        f"A/A COMPARISON: base and cand are runs of one configuration (run key "
        f"{base.header.run_key}: same settings, weights and items); this measures the engine's "
        "noise, not a candidate"
    )


def served_doubts(base: RunArtifact, cand: RunArtifact) -> list[str]:
    """Reasons, from what the servers said while answering, to doubt that the runs measured
    the variants they name: the two runs sent different model names to the same server but
    every answer of both came from the same served model(s) (an A/A run passed off as a
    candidate's test); or a run resumed an interrupted process's answers and the server
    answering changed in between (`ServerInfo.changed_on_resume`)."""
    out: list[str] = []
    hb, hc = base.header, cand.header
    sb = hb.model.server if hb is not None else None
    sc = hc.model.server if hc is not None else None
    if hb is not None and hc is not None and sb is not None and sc is not None:
        # the name each run sent to its server (llamacpp: the GGUF's alias, not its path)
        asked = tuple(h.model.model_name or h.settings.get("model") for h in (hb, hc))
        # two servers that name their models alike (a default alias) prove nothing
        shared = set(hb.model.endpoints) & set(hc.model.endpoints)
        same = sb.answered_by and sb.answered_by == sc.answered_by
        if same and shared and asked[0] != asked[1]:
            out.append(
                f"SAME SERVED MODEL: base asked for {asked[0]!r} and cand for {asked[1]!r}"
                f" at {', '.join(sorted(shared))}, but every answer of both runs says it came"
                f" from {', '.join(sb.answered_by)}; this may be one model compared with itself"
            )
    for side, h in (("base", hb), ("cand", hc)):
        server = h.model.server if h is not None else None
        if h is not None and server is not None and server.changed_on_resume:
            out.append(
                f"MIXED SERVER: the {side} run ({h.variant}) resumed"
                f" {h.perf.requests_resumed} answers of an interrupted process, and the server"
                f" changed in between ({server.changed_on_resume}): rerun it with --force"
            )
    return out


def stop_on_served_doubts(summary: Summary, doubts: list[str]) -> Summary:
    """`summary` with `doubts` at the head of its warnings and reasons; a GO becomes
    INCONCLUSIVE (a NO-GO stays: it blocks the release either way)."""
    if not doubts:
        return summary
    update: dict[str, Any] = {
        "warnings": [*doubts, *summary.warnings],
        "reasons": [*doubts, *summary.reasons],
    }
    if summary.verdict == "go":
        update["verdict"] = "inconclusive"
    return summary.model_copy(update=update)


def limited_run_note(base: RunArtifact, cand: RunArtifact) -> str | None:
    """The warning that heads a comparison of limited runs (`--limit`), or None."""
    limits = {
        side: run.header.limit
        for side, run in (("base", base), ("cand", cand))
        if run.header is not None and run.header.limit is not None
    }
    if not limits:
        return None
    said = ", ".join(f"{side} {n} per stratum" for side, n in limits.items())
    return (
        f"LIMITED RUN ({said}): a quick check on a seeded sample of every stratum, not the "
        "full suite; its CIs are wide and it is no release decision"
    )


DIVERGENCE_COLUMNS = {"item_id": "string", "slice": "string", "cluster_id": "string",
                      "kl_mean": "float64", "top1_agree": "float64"}  # fmt: skip


def read_divergence(path: Path) -> pd.DataFrame:
    """A per-item divergence table (written by `report`), validated: EvalcliffError naming
    the file and the column when it cannot be used."""
    import pandas as pd

    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow's errors are not actionable as tracebacks
        raise EvalcliffError(f"{path}: cannot read the divergence table: {exc}") from None
    missing = [c for c in DIVERGENCE_COLUMNS if c not in df.columns]
    if missing:
        raise EvalcliffError(f"{path}: divergence table lacks column(s) {missing}")
    try:
        df = df.astype(DIVERGENCE_COLUMNS)
    except (TypeError, ValueError) as exc:
        raise EvalcliffError(f"{path}: divergence table has a wrong type: {exc}") from None
    bad = ~np.isfinite(df["kl_mean"]) | (df["kl_mean"] < 0) | ~df["top1_agree"].between(0, 1)
    if bad.any():
        raise EvalcliffError(
            f"{path}: item {df.loc[bad, 'item_id'].iloc[0]!r} has a KL below 0 or not finite,"
            " or a top-1 agreement outside [0, 1]"
        )
    return df


def banner(summary: Summary) -> str:
    """Terminal text: verdict, reasons, headline, error counts and one line per slice."""
    limited = next((w for w in summary.warnings if w.startswith("LIMITED RUN")), None)
    same = next((w for w in summary.warnings if w.startswith("A/A COMPARISON")), None)
    unchecked = next((w for w in summary.warnings if w.startswith("UNCHECKED BUILD")), None)
    seq_tag = f" (sequential, {summary.sequential.looks} looks)" if summary.sequential else ""
    lines = [
        f"VERDICT: {summary.verdict.upper()}" + (" (limited run)" if limited else "") + seq_tag
    ]
    lines += [f"  ! {w}" for w in (limited, same, unchecked) if w]
    # a slice whose CI the validation study found unreliable: its status is less certain
    lines += [f"  ! {w}" for w in summary.warnings if "may cover less than nominal" in w]
    lines += [f"  - {r}" for r in summary.reasons]
    if summary.sequential is not None:
        lines.append(f"  {sequential_line(summary)}")

    def pts(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:+.1f}"

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:.1f}"

    h = summary.headline
    lines.append(
        f"  traffic-weighted Δ {pts(h.traffic_weighted_delta)} pts "
        f"[{pts(h.ci_low)}, {pts(h.ci_high)}]; worst slice "
        f"{h.worst_slice or '—'} Δ {pts(h.worst_delta)} pts"
    )
    lines.append(
        f"  errors: base {summary.n_errors_base}, cand {summary.n_errors_cand} of"
        f" {summary.n_items} items ({summary.base_label} vs {summary.cand_label}); errored"
        f" items leave the pairing, {summary.n_paired} valid pairs"
    )
    lines.append(
        f"  {'slice':<16}{'n':>5}{'err b/c':>9}{'base%':>8}{'cand%':>8}{'Δ pts':>8}"
        f"  CI{'':<14}status"
    )
    for s in summary.slices:
        ci = f"[{pts(s.ci_low)}, {pts(s.ci_high)}]"
        errs = f"{s.n_errors_base}/{s.n_errors_cand}"
        look = "" if s.sequential is None else f" (look {s.sequential.look}/{s.sequential.looks})"
        lines.append(
            f"  {s.slice:<16}{s.n:>5}{errs:>9}{pct(s.base_mean):>8}{pct(s.cand_mean):>8}"
            f"{pts(s.delta):>8}  {ci:<16}{s.status}{look}"
        )
    return "\n".join(lines)


def sequential_line(summary: Summary) -> str:
    """One sentence on a sequential comparison: items run and saved, time saved (an
    estimate) and what the CIs are; '' for a fixed-n comparison."""
    seq = summary.sequential
    if seq is None:
        return ""
    share = seq.items_saved / seq.items_max if seq.items_max else 0.0
    secs, walls = seq.seconds_saved_estimate, seq.looks_wall_s
    time = "" if secs is None else f", ~{secs:.0f} s of generation saved (estimate)"
    took = "" if walls is None else f"; the looks took {walls:.0f} s wall, start-ups included"
    return (
        f"SEQUENTIAL RUN ({seq.looks} looks): {seq.items_used} of {seq.items_max} items per"
        f" variant run, {seq.items_saved} saved ({share:.0%}){time}{took}; CIs are repeated"
        f" (sequential) {seq.confidence * 100:g}% CIs at each slice's stopping look"
    )
