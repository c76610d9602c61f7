"""Plotly figures for the report, built as plain JSON specs (no plotly.py objects: their
validation is slow at scale, and one figure's cost here is linear in its rows).

Figures take the summary's slices (fractions in [0, 1]) and plot points (x100). Labels
are HTML-escaped before they reach plotly, which renders a subset of HTML in text. A
figure is embedded as `<script type="application/json">` (see `figure_json`) and drawn by
the page's loader once plotly.js is ready; the page inlines the bundle once.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from evalcliff.report.formatting import as_float, ci_points, count, margin_points, signed_points
from evalcliff.schema.summary import SliceSummary, StratumSummary

Row = SliceSummary | StratumSummary

STATUS_COLOURS: dict[str, str] = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "inconclusive": "#b7791f",
}
OTHER_COLOUR = "#6e7781"
# No plotly logo link, no cloud export: the page makes no outbound requests or links.
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                 "\u2029": "\\u2029"}  # fmt: skip


def _label(value: object) -> str:
    return html.escape(str(value), quote=False)


def _pts(value: object) -> float | None:
    x = as_float(value)
    return None if x is None else round(x * 100, 4)


def _error_bars(rows: Sequence[Row]) -> tuple[list[float | None], ...]:
    """Per row: (x in points, error above, error below); None where the CI is missing."""
    xs: list[float | None] = []
    plus: list[float | None] = []
    minus: list[float | None] = []
    for row in rows:
        d, lo, hi = _pts(row.delta), _pts(row.ci_low), _pts(row.ci_high)
        xs.append(d)
        plus.append(None if d is None or hi is None else round(max(hi - d, 0.0), 4))
        minus.append(None if d is None or lo is None else round(max(d - lo, 0.0), 4))
    return xs, plus, minus


def _hover(row: Row, name: object) -> str:
    return (
        f"{_label(name)}<br>Δ {signed_points(row.delta)} pts "
        f"{ci_points(row.ci_low, row.ci_high)}<br>n={count(row.n)}"
    )


def forest_figure(slices: Sequence[SliceSummary]) -> dict[str, Any]:
    """One row per slice: Δ (points) with its CI as a horizontal bar, coloured by status.

    Each row carries a dashed tick at that slice's −margin (margins differ per slice) and the
    plot a solid line at 0. Slices appear top to bottom in the order given. One trace per
    status and one for all ticks: the cost is linear in the number of slices.
    """
    n = len(slices)
    ys = list(range(n - 1, -1, -1))
    row_px = 46 if n <= 20 else 26 if n <= 80 else 16
    data: list[dict[str, Any]] = []
    statuses = [s.status for s in slices]
    for status in STATUS_COLOURS:
        idx = [i for i, st in enumerate(statuses) if st == status]
        if not idx:
            continue
        rows = [slices[i] for i in idx]
        xs, plus, minus = _error_bars(rows)
        colour = STATUS_COLOURS.get(status, OTHER_COLOUR)
        data.append(
            {
                "type": "scatter",
                "x": xs,
                "y": [ys[i] for i in idx],
                "mode": "markers",
                "name": _label(status),
                "marker": {"color": colour, "size": 11 if n <= 80 else 7},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "color": colour,
                    "thickness": 2,
                    "width": 6 if n <= 80 else 2,
                },
                "hovertext": [
                    _hover(r, r.slice) + f"<br>status {_label(status)}"
                    f"<br>margin {margin_points(r.margin)} pts"
                    for r in rows
                ],
                "hoverinfo": "text",
            }
        )
    mx: list[float | None] = []
    my: list[float | None] = []
    for y, s in zip(ys, slices, strict=True):
        m = _pts(s.margin)
        if m is not None:
            mx += [-m, -m, None]
            my += [y - 0.38, y + 0.38, None]
    if mx:
        data.append(
            {
                "type": "scatter",
                "x": mx,
                "y": my,
                "mode": "lines",
                "name": "−margin (per slice)",
                "line": {"color": "#24292f", "dash": "dash", "width": 1.5},
                "hoverinfo": "skip",
            }
        )
    layout = {
        "template": {"layout": {"plot_bgcolor": "white", "paper_bgcolor": "white"}},
        "height": 150 + row_px * max(n, 1),
        "margin": {"l": 150, "r": 20, "t": 40, "b": 50},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        "xaxis": {
            "title": {"text": "Δ score, points (candidate − base)"},
            "zeroline": False,
            "gridcolor": "#eaeef2",
        },
        "yaxis": {
            "tickvals": ys,
            "ticktext": [_label(s.slice) for s in slices],
            "range": [-0.6, n - 0.4],
            "showgrid": False,
            "automargin": True,
        },
        "shapes": [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": 0,
                "x1": 0,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#57606a", "width": 1},
            }
        ],
    }
    return {"data": data, "layout": layout}


def figure_json(fig: dict[str, Any], div_id: str) -> Markup:
    """The figure as a div and a `<script type="application/json">` the page's loader draws.

    The JSON escapes `<`, `>`, `&` and the JS line separators, so no text inside it can
    end the script element: the fragment is safe to mark up as-is. `div_id` is fixed so
    the output is deterministic.
    """
    text = json.dumps(
        {"data": fig["data"], "layout": fig["layout"], "config": PLOTLY_CONFIG},
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    for ch, esc in _JSON_ESCAPES.items():
        text = text.replace(ch, esc)
    return Markup(
        f'<div id="{html.escape(div_id)}" class="plot"></div>'
        f'<script type="application/json" data-plot="{html.escape(div_id)}">{text}</script>'
    )
