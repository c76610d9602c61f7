"""The release report: one self-contained HTML page from summary.json and the per-item results."""

from evalcliff.report.html import render_report

__all__ = ["render_report"]
