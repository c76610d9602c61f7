"""Per-item results: the contract between the runner and compare/report."""

from evalcliff.results.io import read_header, read_results, write_results
from evalcliff.results.schema import RESULT_COLUMNS, ResultRow, RunHeader

__all__ = [
    "RESULT_COLUMNS",
    "ResultRow",
    "RunHeader",
    "read_header",
    "read_results",
    "write_results",
]
