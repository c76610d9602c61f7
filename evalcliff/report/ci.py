"""CI outputs of a comparison: JUnit XML (one testcase per slice) and a Markdown summary.

Both are built from the typed Summary alone. Every string that came from a run (slice
names, reasons, variant labels) is escaped for its format: XML-escaped in JUnit, and in
Markdown backslash-escaped so a cell cannot open a link, an image, HTML or a new column.

JUnit rule for an inconclusive slice: it is a failure when the policy maps inconclusive to
NO-GO (`inconclusive: no-go`, a strict gate), else a skipped testcase whose message says
how many more items would decide it. A failed slice is a failure; a passed slice passes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from evalcliff.report import formatting as fmt
from evalcliff.schema.summary import SliceSummary, Summary

VERDICT_TEXT = {"go": "GO", "no-go": "NO-GO", "inconclusive": "INCONCLUSIVE"}
VERDICT_ICON = {"go": "✅", "no-go": "❌", "inconclusive": "⚠️"}
STATUS_ICON = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "⚠️ inconclusive"}
# Characters XML 1.0 cannot hold at all (even escaped): model text may contain them.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# What could start markup in a cell or a list item: code, emphasis, links/images (need
# "["), HTML and entities, headings, tables, strikethrough. "(" and "+" stay readable.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")


def _xml(text: str) -> str:
    return escape(_XML_BAD.sub("\ufffd", text))


def _attr(text: str) -> str:
    return quoteattr(_XML_BAD.sub("\ufffd", text), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def md_escape(text: str) -> str:
    """`text` safe inside one Markdown table cell: one line, no markup, no column break."""
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", flat)


def slice_line(s: SliceSummary, ci_label: str) -> str:
    """One line: 'Δ −3.2 pts [95% CI −5.0, −1.4], margin −2.0, n=400 (status)'; a slice of
    a sequential run adds where it stopped ('stopped at look 2 of 4, 200 of 400 items')."""
    stopped = ""
    if s.sequential is not None:
        q = s.sequential
        stopped = (
            f", stopped at look {q.look} of {q.looks} ({fmt.count(q.items_used)} of"
            f" {fmt.count(q.items_max)} items)"
        )
    return (
        f"Δ {fmt.signed_points(s.delta)} pts {ci_label} {fmt.ci_points(s.ci_low, s.ci_high)},"
        f" margin {fmt.margin_points(s.margin)} pts, n={fmt.count(s.n)}, flips"
        f" {fmt.flips(s.flips_regressed, s.flips_improved)}{stopped} ({s.status})"
    )


def ci_label_of(summary: Summary) -> str:
    """'95% CI', or '95% repeated CI' when the runs were sampled sequentially."""
    kind = "repeated CI" if summary.sequential is not None else "CI"
    return f"{summary.policy.confidence * 100:g}% {kind}"


def sequential_note(summary: Summary) -> str | None:
    """What a sequential run saved, in one sentence (None for a fixed-n comparison)."""
    seq = summary.sequential
    if seq is None:
        return None
    share = seq.items_saved / seq.items_max if seq.items_max else 0.0
    secs, walls = seq.seconds_saved_estimate, seq.looks_wall_s
    time = "" if secs is None else f", about {secs:,.0f} s of generation saved (an estimate)"
    took = (
        ""
        if walls is None
        else f"; the {seq.looks} looks took {walls:,.0f} s of wall time, worker start-up and"
        " model loading included"
    )
    return (
        f"Sequential run ({seq.looks} looks): {fmt.count(seq.items_used)} of"
        f" {fmt.count(seq.items_max)} items per variant were run, {fmt.count(seq.items_saved)}"
        f" saved ({share:.0%}){time}{took}. Each slice stopped once decided; its CIs are repeated"
        f" (sequential) {seq.confidence * 100:g}% CIs at its stopping look, valid however"
        " the sampling stopped."
    )


def _needed(s: SliceSummary) -> str:
    if s.status != "inconclusive":
        return ""
    if s.items_needed is None:
        return "more items would not decide it"
    return f"~{fmt.count(s.items_needed)} more paired items would likely decide it"


def junit_xml(
    summary: Summary, suite: str | None = None, extra: Sequence[tuple[str, str | None]] = ()
) -> str:
    """JUnit XML: a testsuite named after the suite with one testcase per slice.

    fail -> <failure>; inconclusive -> <failure> under a strict policy (inconclusive: no-go),
    else <skipped>; pass -> no child. Each testcase's <system-out> holds its numbers.
    `extra` adds testcases (name, failure message or None for a pass), e.g. drift's chart.
    A sequential run's slices say where they stopped, and its CIs are repeated CIs.
    """
    ci_label = ci_label_of(summary)
    strict = summary.policy.inconclusive == "no-go"
    name = suite or _suite_name(summary) or "evalcliff"
    cases: list[str] = []
    failures = skipped = 0
    for s in summary.slices:
        line = slice_line(s, ci_label)
        guards = f"; guards: {', '.join(s.guards)}" if s.guards else ""
        body = ""
        if s.status == "fail":
            failures += 1
            body = (
                f'<failure message={_attr(f"{s.slice}: {line}{guards}")} type="regression">'
                f"{_xml(line + guards)}</failure>"
            )
        elif s.status == "inconclusive" and strict:
            failures += 1
            msg = f"{s.slice}: inconclusive under a strict policy; {_needed(s)}{guards}"
            body = f'<failure message={_attr(msg)} type="inconclusive">{_xml(line)}</failure>'
        elif s.status == "inconclusive":
            skipped += 1
            body = f"<skipped message={_attr(f'inconclusive: {_needed(s)}{guards}')}/>"
        out = f"<system-out>{_xml(line + guards)}</system-out>"
        cases.append(
            f"  <testcase classname={_attr(f'evalcliff.{name}')} name={_attr(s.slice)}"
            f' time="0">{body}{out}</testcase>'
        )
    for case_name, failure in extra:
        body = "" if failure is None else f'<failure message={_attr(failure)} type="alarm"/>'
        failures += failure is not None
        cases.append(
            f"  <testcase classname={_attr(f'evalcliff.{name}')} name={_attr(case_name)}"
            f' time="0">{body}</testcase>'
        )
    verdict = VERDICT_TEXT[summary.verdict]
    props = (
        "  <properties>\n"
        f'    <property name="verdict" value="{verdict}"/>\n'
        f'    <property name="base" value={_attr(summary.base_label)}/>\n'
        f'    <property name="cand" value={_attr(summary.cand_label)}/>\n'
        + (
            f'    <property name="sequential" value={_attr(note)}/>\n'
            if (note := sequential_note(summary))
            else ""
        )
        + "  </properties>\n"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="evalcliff" tests="{len(cases)}" failures="{failures}"'
        f' errors="0" skipped="{skipped}">\n'
        f'<testsuite name={_attr(name)} tests="{len(cases)}" failures="{failures}"'
        f' errors="0" skipped="{skipped}" time="0">\n'
        f"{props}" + "".join(c + "\n" for c in cases) + "</testsuite>\n</testsuites>\n"
    )


def _suite_name(summary: Summary) -> str | None:
    header = summary.base or summary.cand
    return None if header is None else header.suite.name


def summary_markdown(summary: Summary, report_name: str | None = "report.html") -> str:
    """A Markdown verdict with its reasons and a per-slice table, for a PR comment or
    `$GITHUB_STEP_SUMMARY`. Deltas and CIs in points (candidate − base). A sequential run
    says so, with the items and time saved, and where each slice stopped."""
    ci_label = ci_label_of(summary)
    v = summary.verdict
    h = summary.headline
    base, cand = md_escape(summary.base_label), md_escape(summary.cand_label)
    lines = [
        f"### evalcliff: {base} → {cand}: {VERDICT_ICON[v]} **{VERDICT_TEXT[v]}**",
        "",
    ]
    lines += [f"- {md_escape(r)}" for r in summary.reasons]
    if summary.reasons:
        lines.append("")
    lines.append(
        f"Traffic-weighted Δ **{fmt.signed_points(h.traffic_weighted_delta)} pts**"
        f" {fmt.ci_points(h.ci_low, h.ci_high)}; worst slice"
        f" **{md_escape(h.worst_slice or fmt.MISSING)}**"
        f" {fmt.signed_points(h.worst_delta)} pts. {fmt.count(summary.n_paired)} valid pairs"
        f" of {fmt.count(summary.n_items)} items (errors: base {summary.n_errors_base},"
        f" candidate {summary.n_errors_cand})."
    )
    note = sequential_note(summary)
    if note:
        lines += ["", f"**{md_escape(note)}**"]
    lines += [
        "",
        f"| slice | status | n | base % | cand % | Δ pts | {ci_label} | margin | flips −/+ |"
        " catastrophic base → cand | items needed |",
        "|---|---|--:|--:|--:|--:|---|--:|--:|---|--:|",
    ]
    for s in summary.slices:
        needed = ""
        if s.status == "inconclusive":
            needed = fmt.MISSING if s.items_needed is None else f"~{fmt.count(s.items_needed)}"
        look = "" if s.sequential is None else f" (look {s.sequential.look}/{s.sequential.looks})"
        lines.append(
            f"| {md_escape(s.slice)} | {STATUS_ICON[s.status]}{look} | {fmt.count(s.n)} |"
            f" {fmt.points(s.base_mean)} | {fmt.points(s.cand_mean)} |"
            f" **{fmt.signed_points(s.delta)}** | {fmt.ci_points(s.ci_low, s.ci_high)} |"
            f" {fmt.margin_points(s.margin)} |"
            f" {fmt.flips(s.flips_regressed, s.flips_improved)} |"
            f" {fmt.percent(s.catastrophic_base)} → {fmt.percent(s.catastrophic_cand)} |"
            f" {needed} |"
        )
    if summary.warnings:
        lines += ["", "**Warnings**", ""] + [f"- {md_escape(w)}" for w in summary.warnings]
    tail = "A slice passes when its CI lies above −margin; GO needs every slice to pass."
    if report_name:
        tail += f" Full report: `{report_name}` (with summary.json and junit.xml)."
    lines += ["", f"<sub>{tail}</sub>", ""]
    return "\n".join(lines)


def append_step_summary(markdown: str, env: dict[str, str] | None = None) -> Path | None:
    """Append `markdown` to the file named by `$GITHUB_STEP_SUMMARY`, when set; return it.

    A path that cannot be written is not an error for the verdict: it is reported as an
    OSError to the caller, who decides.
    """
    target = (env if env is not None else os.environ).get("GITHUB_STEP_SUMMARY", "").strip()
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path
