"""Outputs of a drift review: `drift.json`, a self-contained `drift.html` (inline SVG, no
script, every text escaped) and a Prometheus textfile (node_exporter's textfile collector)."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

from evalcliff.drift.model import DRIFT_EXIT_CODES, DriftReport, TrendPoint
from evalcliff.textio import write_text_atomic

STATUS_CODES = {"pass": 0, "fail": 1, "inconclusive": 3}
COLORS = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#9a6700"}


write_atomic = write_text_atomic  # the drift outputs' writer (see evalcliff.textio)


# -- Prometheus ------------------------------------------------------------------------


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(x: float | None) -> str:
    return "NaN" if x is None else repr(float(x))


def prometheus_text(report: DriftReport) -> str:
    """The review as Prometheus text exposition: status, per-slice delta, CI bounds, margin,
    status and alarm, baseline age and staleness, changes."""
    base = f'variant="{_label(report.run.variant)}",baseline="{report.baseline.id}"'
    lines: list[str] = []

    def metric(name: str, help_: str, samples: list[tuple[str, str]]) -> None:
        lines.append(f"# HELP evalcliff_drift_{name} {help_}")
        lines.append(f"# TYPE evalcliff_drift_{name} gauge")
        for labels, value in samples:
            lines.append(f"evalcliff_drift_{name}{{{base}{labels}}} {value}")

    metric("status", "Drift status of the latest run: 0 stable, 1 drifted, 3 inconclusive.",
           [("", str(DRIFT_EXIT_CODES[report.status]))])  # fmt: skip
    at = datetime.fromisoformat(report.run.at).timestamp()
    metric("run_timestamp_seconds", "When the latest run was recorded (Unix time).",
           [(f',run="{report.run.id}"', repr(at))])  # fmt: skip
    metric("baseline_age_days", "Days between the baseline run and the latest run.",
           [("", repr(report.baseline_age_days))])  # fmt: skip
    metric("baseline_stale", "1 when the baseline is older than the limit.",
           [("", str(int(report.stale)))])  # fmt: skip
    metric("changes", "Differences between the baseline run and the latest (fingerprint, "
           "engine, settings, suite, tags).", [("", str(len(report.changes)))])  # fmt: skip
    per = [(f',slice="{_label(s.slice)}"', s) for s in report.slices]
    metric("slice_delta", "Paired mean score delta, latest minus baseline (fraction).",
           [(lab, _num(s.delta)) for lab, s in per])  # fmt: skip
    metric("slice_ci_low", "Lower bound of the paired CI of the delta.",
           [(lab, _num(s.ci_low)) for lab, s in per])  # fmt: skip
    metric("slice_ci_high", "Upper bound of the paired CI of the delta.",
           [(lab, _num(s.ci_high)) for lab, s in per])  # fmt: skip
    metric("slice_margin", "Largest tolerated drop of the slice (fraction).",
           [(lab, _num(s.margin)) for lab, s in per])  # fmt: skip
    metric("slice_status", "Slice status: 0 pass, 1 fail, 3 inconclusive.",
           [(lab, str(STATUS_CODES[s.status])) for lab, s in per])  # fmt: skip
    metric("slice_alarm", "1 when the control chart alarms on the slice at the latest run.",
           [(lab, str(int(s.alarm))) for lab, s in per])  # fmt: skip
    return "\n".join(lines) + "\n"


# -- HTML ------------------------------------------------------------------------------


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _pts(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f}"


def _svg(points: list[TrendPoint], margin: float) -> str:
    """One slice's trend: delta (points) with its CI band, zero and −margin lines, markers
    coloured by status (ringed when the chart alarms), dashed lines where something changed."""
    w, h, left, right, top, bottom = 760, 240, 96, 16, 16, 48
    vals = [v for p in points for v in (p.ci_low, p.ci_high, p.delta) if v is not None]
    lo = min([*vals, -margin, 0.0]) - 0.01
    hi = max([*vals, 0.0]) + 0.01
    n = len(points)

    def x(i: int) -> float:
        return left + (w - left - right) * (i + 0.5) / max(n, 1)

    def y(v: float) -> float:
        return top + (h - top - bottom) * (hi - v) / (hi - lo)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'viewBox="0 0 {w} {h}" role="img">']  # fmt: skip
    band = [(i, p) for i, p in enumerate(points) if p.ci_low is not None and p.ci_high is not None]
    if band:
        upper = " ".join(f"{x(i):.1f},{y(p.ci_high or 0):.1f}" for i, p in band)
        lower = " ".join(f"{x(i):.1f},{y(p.ci_low or 0):.1f}" for i, p in reversed(band))
        parts.append(f'<polygon points="{upper} {lower}" fill="#0969da" fill-opacity="0.15"/>')
    for v, label, dash in ((0.0, "0", ""), (-margin, f"−margin {100 * margin:.1f}", "6 4")):
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     f'stroke="#57606a" stroke-dasharray="{dash}"/>'
                     f'<text x="{left - 4}" y="{y(v) + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{_e(label)}</text>')  # fmt: skip
    line = " ".join(f"{x(i):.1f},{y(p.delta):.1f}" for i, p in enumerate(points)
                    if p.delta is not None)  # fmt: skip
    parts.append(f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="1.5"/>')
    for i, p in enumerate(points):
        if p.changed:
            parts.append(f'<line x1="{x(i) - 6:.1f}" x2="{x(i) - 6:.1f}" y1="{top}" '
                         f'y2="{h - bottom}" stroke="#8250df" stroke-dasharray="3 3"/>'
                         f'<text x="{x(i) - 4:.1f}" y="{top + 10}" font-size="9" fill="#8250df">'
                         f'{_e(",".join(p.changed))}</text>')  # fmt: skip
        if p.delta is not None:
            ring = ' stroke="#000" stroke-width="2"' if p.alarm else ""
            flag = ", ALARM" if p.alarm else ""
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(p.delta):.1f}" r="4" '
                         f'fill="{COLORS[p.status]}"{ring}><title>run {p.run} {_e(p.at)}: '
                         f'Δ {_pts(p.delta)} pts [{_pts(p.ci_low)}, {_pts(p.ci_high)}], '
                         f'{_e(p.status)}{flag}</title></circle>')  # fmt: skip
        parts.append(f'<text x="{x(i):.1f}" y="{h - bottom + 14}" font-size="9" '
                     f'text-anchor="middle">{_e(p.at[:10])}</text>'
                     f'<text x="{x(i):.1f}" y="{h - bottom + 26}" font-size="9" fill="#57606a" '
                     f'text-anchor="middle">#{p.run}</text>')  # fmt: skip
    parts.append(f'<text x="{left}" y="{h - 6}" font-size="10" fill="#57606a">Δ points vs run '
                 f'(CI band; black ring: control-chart alarm; purple: something changed)'
                 f'</text></svg>')  # fmt: skip
    return "".join(parts)


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px;color:#1f2328}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #d0d7de;padding:4px 8px;
text-align:left}.stable,.pass{color:#1a7f37}.drifted,.fail{color:#cf222e}
.inconclusive{color:#9a6700}.warn{background:#fff8c5;padding:6px}
code{font-size:90%;word-break:break-all}"""


def render_html(report: DriftReport) -> str:
    """The drift page: status, reasons, slices, changes, per-slice trend charts."""
    r = report
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>drift: {_e(r.run.variant)}"
           f"</title><style>{CSS}</style></head><body>",
           f"<h1>Drift review: {_e(r.run.variant)} — <span class='{_e(r.status)}'>"
           f"{_e(r.status.upper())}</span></h1>",
           f"<p>latest run #{r.run.id} ({_e(r.run.at)}) vs baseline #{r.baseline.id} "
           f"({_e(r.baseline.variant)}, {_e(r.baseline.at)}, ref {_e(r.baseline_ref)}); "
           f"baseline age {r.baseline_age_days:.0f} days"
           f"{' — <b>STALE</b>' if r.stale else ''}. Trend against run #{r.trend_anchor.id}."
           "</p>"]  # fmt: skip
    out.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in r.reasons) + "</ul>")
    out += [f"<p class='warn'>{_e(w)}</p>" for w in r.warnings]
    out.append("<h2>Slices</h2><table><tr><th>slice</th><th>n</th><th>baseline %</th>"
               "<th>latest %</th><th>Δ pts</th><th>CI</th><th>margin</th><th>status</th>"
               "<th>chart</th></tr>")  # fmt: skip
    for s in r.slices:
        base = "—" if s.base_mean is None else f"{100 * s.base_mean:.1f}"
        cand = "—" if s.cand_mean is None else f"{100 * s.cand_mean:.1f}"
        out.append(f"<tr><td>{_e(s.slice)}</td><td>{s.n}</td><td>{base}</td><td>{cand}</td>"
                   f"<td>{_pts(s.delta)}</td><td>[{_pts(s.ci_low)}, {_pts(s.ci_high)}]</td>"
                   f"<td>{100 * s.margin:.1f}</td><td class='{_e(s.status)}'>{_e(s.status)}</td>"
                   f"<td>{'ALARM' if s.alarm else 'ok'}</td></tr>")  # fmt: skip
    out.append("</table><h2>Changes since the baseline</h2>")
    if r.changes:
        out.append("<table><tr><th>kind</th><th>field</th><th>baseline</th><th>latest</th></tr>")
        for c in r.changes:
            out.append(f"<tr><td>{_e(c.kind)}</td><td><code>{_e(c.field)}</code></td>"
                       f"<td><code>{_e(c.baseline)}</code></td><td><code>{_e(c.latest)}</code>"
                       "</td></tr>")  # fmt: skip
        out.append("</table>")
    else:
        out.append("<p>none recorded</p>")
    margins = {s.slice: s.margin for s in r.slices}
    out.append(f"<h2>Trend</h2><p>EWMA control chart on the weekly paired deltas "
               f"(λ={r.chart['lambda']:g}, limit {r.chart['limit']:g} sd).</p>")  # fmt: skip
    for name in dict.fromkeys(p.slice for p in r.trend):
        pts = [p for p in r.trend if p.slice == name]
        out.append(f"<h3>{_e(name)}</h3>{_svg(pts, margins.get(name, 0.02))}")
    out.append("</body></html>")
    return "\n".join(out)


def write_outputs(report: DriftReport, out_dir: Path) -> dict[str, Path]:
    """Write drift.json, drift.html, drift.prom, junit.xml and summary.md in `out_dir`;
    returns their paths. junit.xml and summary.md are the gate's CI outputs for the latest
    run against the baseline (see `evalcliff.report.ci`), plus a `control_chart` testcase
    that fails when the chart alarms; summary.md also goes to `$GITHUB_STEP_SUMMARY`.

    One writer per directory (a lock); the previous review's files are removed first and
    drift.json is written last, so a write that fails (a full disk: EvalcliffError naming
    the file) never leaves an old status beside a new one."""
    from evalcliff.errors import EvalcliffError
    from evalcliff.locking import exclusive

    paths = {
        "json": out_dir / "drift.json",
        "html": out_dir / "drift.html",
        "prom": out_dir / "drift.prom",
        "junit": out_dir / "junit.xml",
        "md": out_dir / "summary.md",
    }
    junit, markdown = ci_outputs(report)
    texts = {  # in writing order: the record scripts read last
        "html": render_html(report),
        "junit": junit,
        "md": markdown,
        "prom": prometheus_text(report),
        "json": report.model_dump_json(indent=2),
    }
    path = out_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with exclusive(out_dir, f"drift output directory {out_dir}"):
            for key in reversed(texts):
                path = paths[key]
                path.unlink(missing_ok=True)
            for key, text in texts.items():
                path = paths[key]
                write_atomic(path, text)
    except OSError as exc:
        raise EvalcliffError(
            f"{path}: cannot write it: {exc.strerror or exc}; no drift.json was written"
        ) from None
    return paths


def ci_outputs(report: DriftReport) -> tuple[str, str]:
    """(junit.xml, summary.md) of a drift review."""
    from evalcliff.report.ci import junit_xml, md_escape, summary_markdown
    from evalcliff.schema.summary import Summary

    summary = Summary.model_validate(report.summary)
    name = f"evalcliff drift {report.run.variant}"
    alarms = "; ".join(
        f"{a.slice}: EWMA {100 * a.ewma:+.2f} pts beyond {100 * a.limit:.2f} (since run "
        f"{a.first_alarm_run})"
        for a in report.alarms
    )
    junit = junit_xml(summary, suite=name, extra=[("control_chart", alarms or None)])
    head = [
        f"### evalcliff drift: {md_escape(report.run.variant)} is **{report.status.upper()}**",
        "",
        f"Latest run {report.run.id} ({md_escape(report.run.at)}) vs baseline run "
        f"{report.baseline.id} ({md_escape(report.baseline.at)})"
        + (" — **stale baseline**" if report.stale else ""),
        "",
    ]
    head += [f"- {md_escape(r)}" for r in report.reasons]
    markdown = "\n".join(head) + "\n\n" + summary_markdown(summary, report_name="drift.html")
    return junit, markdown
