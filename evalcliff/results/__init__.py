"""Run artifacts on disk: the parquet file with its header inside, and JSONL rows."""

from evalcliff.results.io import read_header, read_results, read_run, write_results, write_run
from evalcliff.schema.run import RESULT_COLUMNS, ResultRow, RunArtifact, RunHeader

__all__ = [
    "RESULT_COLUMNS",
    "ResultRow",
    "RunArtifact",
    "RunHeader",
    "read_header",
    "read_results",
    "read_run",
    "write_results",
    "write_run",
]
