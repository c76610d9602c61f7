"""Write the validation summary as Markdown, JSON and a plotly HTML figure of power curves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots


def _pct(x: Any, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _cell_key(r: dict[str, Any]) -> list[Any]:
    return [r["n"], r["clusters"], r["base_acc"], f"{r['flip_rate']:g}", f"{100 * r['delta']:+g}"]


def _headline(s: dict[str, Any]) -> list[str]:
    req, band = s["required"], s["band"]
    lines = ["## Headline", ""]
    rows = []
    for m in ("percentile", "bca"):
        q = req[m]
        rows.append(
            [
                m,
                req["cells"],
                q["in_band"],
                q["within_mc_error"],
                q["out"],
                _pct(q["min"]),
                _pct(q["max"]),
                _pct(q["mean_abs_error"], 2),
            ]
        )
    lines += [
        f"95% CI coverage in the cells with n ≥ 100 and ≥ 30 clusters (target band"
        f" [{_pct(band[0])}%, {_pct(band[1])}%]); 'MC' = outside the band but within the"
        " 99.9% Monte Carlo interval of the cell's estimate:",
        "",
    ]
    lines += _table(
        ["method", "cells", "in band", "MC", "out", "min %", "max %", "mean |cov−95| pts"], rows
    )
    fn, fg = s["false_no_go"], s["false_go"]
    lines += [
        f"- False NO-GO at true Δ = 0 (margin {s['settings']['margin']}): max over"
        f" {fn['cells']} cells {_pct(fn['percentile']['max'], 2)}% (mean"
        f" {_pct(fn['percentile']['mean'], 3)}%); nominal {_pct(fn['nominal'])}%;"
        f" cells above nominal: {fn['percentile']['cells_above_nominal']}; counting only"
        f" NO-GOs the gate gives without a reliability warning: max {_pct(fn['max_unwarned'], 2)}%,"
        f" cells above nominal {fn['cells_above_nominal_unwarned']}.",
        f"- False GO at true Δ = −margin: max over {fg['cells']} cells"
        f" {_pct(fg['percentile']['max'], 2)}% (mean {_pct(fg['percentile']['mean'], 2)}%);"
        f" cells above nominal {_pct(fg['nominal'])}%: {fg['percentile']['cells_above_nominal']}"
        f" (worst: {fg['percentile']['worst_cell']}); without a reliability warning: max"
        f" {_pct(fg['max_unwarned'], 2)}%, cells above nominal"
        f" {fg['cells_above_nominal_unwarned']}.",
        f"- Gate warning rule (evalcliff.stats.reliability): n ≥ {s['rule']['min_items']},"
        f" clusters ≥ {s['rule']['min_clusters']}, informative units ≥"
        f" {s['rule']['min_informative_items']} (items) or"
        f" {s['rule']['min_informative_clusters']} (clusters) unless an exact bound keeps the"
        " margin safe; coverage of the datasets it does not warn about:"
        f" {_pct(s['rule']['unwarned_coverage'], 2)}% ({s['rule']['unwarned_datasets']}"
        f" datasets). Threshold the simulation derives: {s['threshold_derived']}.",
        "",
    ]
    return lines


def _informative(s: dict[str, Any]) -> list[str]:
    inf = s["informative"]
    lines = [
        "## Coverage by informative units",
        "",
        "Pooled over all cells, by the observed number of clusters (items, without clusters)"
        " holding a nonzero difference — what the gate sees when it decides to warn."
        " 'CI above truth' is the share of CIs entirely above the true Δ (the side of a false"
        " GO); a valid 95% CI has 2.5%.",
        "",
    ]
    for key, title in (("delta_zero", "true Δ = 0"), ("delta_nonzero", "true Δ = −flip/2")):
        rows = [
            [
                r["informative"],
                r["datasets"],
                _pct(r["coverage_percentile"]),
                _pct(r["coverage_bca"]),
                _pct(r["miss_low"]),
            ]
            for r in inf[key]
        ]
        lines += [f"**{title}**", ""]
        lines += _table(
            ["informative units", "datasets", "percentile %", "BCa %", "CI above truth %"], rows
        )
    groups = [f"{g}_{k}" for g in ("items", "clusters") for k in ("delta_zero", "delta_nonzero")]
    labels = {r["informative"] for g in groups for r in inf[g]}
    order = [r["informative"] for r in inf["delta_zero"] + inf["delta_nonzero"]]
    table = []
    for label in sorted(labels, key=order.index):
        cells = []
        for g in groups:
            row = next((r for r in inf[g] if r["informative"] == label), None)
            if row is None:
                cells.append("—")
                continue
            cov, low = _pct(row["coverage_percentile"]), _pct(row["miss_low"])
            cells.append(f"{cov} / {low} ({row['datasets']})")
        table.append([label, *cells])
    lines += [
        "**Percentile coverage % / CI above truth % (datasets), items vs clusters**",
        "",
    ]
    lines += _table(
        ["informative units", "items Δ=0", "items Δ≠0", "clusters Δ=0", "clusters Δ≠0"], table
    )
    return lines


def _power(s: dict[str, Any]) -> list[str]:
    lines = ["## Power", ""]
    for m in sorted({r["cluster_size"] for r in s["power"]}):
        rows = [r for r in s["power"] if r["cluster_size"] == m]
        ns = sorted({r["n"] for r in rows})
        drops = sorted({r["drop"] for r in rows})
        what = "independent items" if m == 1 else f"clusters of ~{m} items"
        lines += [f"P(NO-GO) / P(not GO), {what}, by true drop (points) and n:", ""]
        table = []
        for n in ns:
            cells = {r["drop"]: r for r in rows if r["n"] == n}
            table.append(
                [n]
                + [
                    f"{_pct(cells[d]['p_no_go'], 0)} / {_pct(cells[d]['p_not_go'], 0)}"
                    for d in drops
                ]
            )
        lines += _table(["n"] + [f"{100 * d:g}" for d in drops], table)
    return lines


def _cells(s: dict[str, Any]) -> list[str]:
    head = ["n", "clusters", "base acc", "flip", "Δ pts", "informative", "pct %", "BCa %"]
    head += ["band", "NO-GO %", "unwarned %", "cov unwarned %"]
    rows = []
    for r in s["cells"]:
        band = {"in": "in", "mc": "MC", "out": "**out**"}[r["band_percentile"]]
        rows.append(
            _cell_key(r)
            + [
                f"{r['mean_informative']:.1f}",
                _pct(r["coverage_percentile"]),
                _pct(r["coverage_bca"]),
                band if r["required"] else f"({band})",
                _pct(r["no_go_percentile"]) if r["delta"] == 0 else "",
                _pct(r["unwarned_share"], 0),
                _pct(r["coverage_percentile_unwarned"]),
            ]
        )
    return [
        "## All cells",
        "",
        "Band in parentheses: outside the required region (n < 100 or < 30 clusters).",
        "",
    ] + _table(head, rows)


def markdown(s: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    st = s["settings"]
    lines = [
        "# Statistics validation",
        "",
        f"`python -m evalcliff.dev.validation` — {st['datasets']} datasets per cell,"
        f" {st['resamples']} bootstrap resamples each, confidence {st['confidence']},"
        f" margin {st['margin']}, seed {st['seed']}; {s.get('total_datasets', '?')} datasets"
        f" in {s.get('elapsed_s', 0):.0f} s. Model: evalcliff/dev/validation/simulate.py.",
        "",
    ]
    lines += _headline(s) + _informative(s) + _power(s)
    if s["plan_checks"]:
        lines += ["## `evalcliff plan` checked by simulation", ""]
        lines += _table(
            ["scenario", "plan items", "P(GO) simulated", "target power"],
            [
                [c["label"], c["items"], _pct(c["p_go"]), _pct(c["power"], 0)]
                for c in s["plan_checks"]
            ],
        )
    lines += _cells(s)
    return "\n".join(lines)


def power_figure(s: dict[str, Any]) -> go.Figure:
    """Power curves: P(NO-GO) solid and P(not GO) dashed, by true drop, one line per n."""
    sizes = sorted({r["cluster_size"] for r in s["power"]})
    titles = ["independent items" if m == 1 else f"clusters of ~{m} items" for m in sizes]
    fig = make_subplots(rows=1, cols=len(sizes), subplot_titles=titles, shared_yaxes=True)
    colours = ["#3b5b92", "#1a7f37", "#b7791f", "#cf222e", "#6e40c9", "#6e7781"]
    for col, m in enumerate(sizes, start=1):
        ns = sorted({r["n"] for r in s["power"] if r["cluster_size"] == m})
        for i, n in enumerate(ns):
            rows = sorted(
                (r for r in s["power"] if r["cluster_size"] == m and r["n"] == n),
                key=lambda r: r["drop"],
            )
            x = [100 * r["drop"] for r in rows]
            c = colours[i % len(colours)]
            for key, dash, label in (("p_no_go", "solid", "NO-GO"), ("p_not_go", "dash", "not GO")):
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=[r[key] for r in rows],
                        mode="lines+markers",
                        line={"color": c, "dash": dash},
                        name=f"n={n} {label}",
                        legendgroup=f"{n}",
                        showlegend=col == 1,
                    ),
                    row=1,
                    col=col,
                )
        fig.add_vline(x=100 * s["settings"]["margin"], line_dash="dot", row=1, col=col)
        fig.update_xaxes(title_text="true drop (points)", row=1, col=col)
    fig.update_yaxes(title_text="probability", range=[0, 1], row=1, col=1)
    fig.update_layout(
        title="Gate power (margin dotted): P(NO-GO) solid, P(not GO) dashed", height=480
    )
    return fig


def write_all(s: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write stats-validation.md, .json and stats-validation-power.html under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "stats-validation.md"
    js = out_dir / "stats-validation.json"
    fig = out_dir / "stats-validation-power.html"
    md.write_text(markdown(s) + "\n")
    js.write_text(json.dumps(s, indent=1, default=float))
    power_figure(s).write_html(fig, include_plotlyjs=True, full_html=True)
    return [md, js, fig]
