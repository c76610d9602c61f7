"""Plotly figures for the report: the per-slice forest plot and the per-stratum dot plot.

Figures take the summary's slices (fractions in [0, 1]) and plot points (x100).
Labels are HTML-escaped before they reach plotly, which renders a subset of HTML in text.
Figures are embedded with `figure_html`, which never includes plotly.js itself: the page
inlines the bundle once.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from markupsafe import Markup
from plotly.subplots import make_subplots

from evalcliff.report.formatting import as_float, ci_points, count, margin_points, signed_points
from evalcliff.schema.summary import SliceSummary, StratumSummary

Row = SliceSummary | StratumSummary

STATUS_COLOURS: dict[str, str] = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "inconclusive": "#b7791f",
}
OTHER_COLOUR = "#6e7781"
STRATUM_COLOUR = "#3b5b92"
# No plotly logo link, no cloud export: the page makes no outbound requests or links.
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


def _label(value: object) -> str:
    return html.escape(str(value), quote=False)


def _pts(value: object) -> float | None:
    x = as_float(value)
    return None if x is None else x * 100


def _error_bars(rows: Sequence[Row]) -> tuple[list[float | None], ...]:
    """Per row: (x in points, error above, error below); None where the CI is missing."""
    xs: list[float | None] = []
    plus: list[float | None] = []
    minus: list[float | None] = []
    for row in rows:
        d, lo, hi = _pts(row.delta), _pts(row.ci_low), _pts(row.ci_high)
        xs.append(d)
        plus.append(None if d is None or hi is None else max(hi - d, 0.0))
        minus.append(None if d is None or lo is None else max(d - lo, 0.0))
    return xs, plus, minus


def _hover(row: Row, name: object) -> str:
    return (
        f"{_label(name)}<br>Δ {signed_points(row.delta)} pts "
        f"{ci_points(row.ci_low, row.ci_high)}<br>n={count(row.n)}"
    )


def forest_figure(slices: Sequence[SliceSummary]) -> Any:
    """One row per slice: Δ (points) with its CI as a horizontal bar, coloured by status.

    Each row carries a dashed tick at that slice's −margin (margins differ per slice) and the
    plot a solid line at 0. Slices appear top to bottom in the order given.
    """
    n = len(slices)
    ys = list(range(n - 1, -1, -1))
    fig = go.Figure()
    statuses = [s.status for s in slices]
    for status in STATUS_COLOURS:
        idx = [i for i, st in enumerate(statuses) if st == status]
        if not idx:
            continue
        rows = [slices[i] for i in idx]
        xs, plus, minus = _error_bars(rows)
        hover = [
            _hover(r, r.slice) + f"<br>status {_label(status)}"
            f"<br>margin {margin_points(r.margin)} pts"
            for r in rows
        ]
        colour = STATUS_COLOURS.get(status, OTHER_COLOUR)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[ys[i] for i in idx],
                mode="markers",
                name=_label(status),
                marker={"color": colour, "size": 11},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "color": colour,
                    "thickness": 2,
                    "width": 6,
                },
                hovertext=hover,
                hoverinfo="text",
            )
        )
    mx: list[float | None] = []
    my: list[float | None] = []
    for y, s in zip(ys, slices, strict=True):
        m = _pts(s.margin)
        if m is not None:
            mx += [-m, -m, None]
            my += [y - 0.38, y + 0.38, None]
    if mx:
        fig.add_trace(
            go.Scatter(
                x=mx,
                y=my,
                mode="lines",
                name="−margin (per slice)",
                line={"color": "#24292f", "dash": "dash", "width": 1.5},
                hoverinfo="skip",
            )
        )
    fig.add_vline(x=0, line_color="#57606a", line_width=1)
    fig.update_layout(
        template="plotly_white",
        height=150 + 46 * max(n, 1),
        margin={"l": 130, "r": 30, "t": 40, "b": 50},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        xaxis={"title": {"text": "Δ score, points (candidate − base)"}, "zeroline": False},
        yaxis={
            "tickvals": ys,
            "ticktext": [_label(s.slice) for s in slices],
            "range": [-0.6, n - 0.4],
            "showgrid": False,
        },
    )
    return fig


def strata_figure(slices: Sequence[SliceSummary]) -> Any | None:
    """Small multiples, one panel per slice with strata: each stratum's Δ (points) with CI.

    Each panel shows its slice's −margin (dashed) and 0. Returns None when no slice has strata.
    """
    panels = [s for s in slices if s.strata]
    if not panels:
        return None
    sizes = [len(s.strata) for s in panels]
    height = 90 + 26 * sum(sizes) + 60 * len(panels)
    spacing = min(50 / height, 0.9 / (len(panels) - 1)) if len(panels) > 1 else 0.0
    fig = make_subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=spacing,
        row_heights=[k / sum(sizes) for k in sizes],
        subplot_titles=[_label(s.slice) for s in panels],
    )
    for r, s in enumerate(panels, start=1):
        strata = s.strata
        xs, plus, minus = _error_bars(strata)
        labels = [_label(st.stratum) for st in strata]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=labels,
                mode="markers",
                showlegend=False,
                marker={"color": STRATUM_COLOUR, "size": 8},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "color": STRATUM_COLOUR,
                    "thickness": 1.5,
                    "width": 4,
                },
                hovertext=[_hover(st, f"{s.slice} · {st.stratum}") for st in strata],
                hoverinfo="text",
            ),
            row=r,
            col=1,
        )
        m = _pts(s.margin)
        if m is not None:
            fig.add_vline(
                x=-m, line_dash="dash", line_color="#24292f", line_width=1.2, row=r, col=1
            )
        fig.add_vline(x=0, line_color="#57606a", line_width=1, row=r, col=1)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(zeroline=False)
    fig.update_xaxes(title_text="Δ score, points (candidate − base)", row=len(panels), col=1)
    fig.update_layout(
        template="plotly_white", height=height, margin={"l": 160, "r": 30, "t": 40, "b": 50}
    )
    return fig


def figure_html(fig: Any, div_id: str) -> Markup:
    """The figure as an HTML fragment (a div and an inline script), without plotly.js.

    Plotly JSON-encodes the figure with `<`, `>` and `/` escaped, so the fragment is safe
    to mark up as-is; `div_id` is fixed so the output is deterministic.
    """
    text: str = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG
    )
    return Markup(text)
