"""Drift of a served model over weeks: a variant's latest recorded run against a baseline
with the gate's paired statistics, what changed, the trend, and an EWMA control chart.

- `review`: `drift_review` -> `DriftReport` (`model`), the record written as drift.json.
- `changes`: differences between two recorded runs.
- `control`: the EWMA chart on standardized weekly paired deltas.
- `render`: drift.json, drift.html (inline SVG) and a Prometheus textfile.
- `simulate`: synthetic histories and the chart's calibration study.
"""

from evalcliff.drift.control import DEFAULT_CHART, EwmaChart
from evalcliff.drift.model import DRIFT_EXIT_CODES, DriftReport
from evalcliff.drift.render import prometheus_text, render_html, write_outputs
from evalcliff.drift.review import DEFAULT_MAX_BASELINE_AGE_DAYS, drift_review

__all__ = [
    "DEFAULT_CHART",
    "DEFAULT_MAX_BASELINE_AGE_DAYS",
    "DRIFT_EXIT_CODES",
    "DriftReport",
    "EwmaChart",
    "drift_review",
    "prometheus_text",
    "render_html",
    "write_outputs",
]
