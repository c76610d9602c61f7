"""Schema versions of persisted records, and the check every reader makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evalcliff.errors import EvalcliffError

# 2: the run header lives inside the parquet file (key-value metadata), typed and closed.
SCHEMA_VERSION = 2

# old version -> function turning a record of that version into one of the next version.
# A version with no entry here cannot be read by this release.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def check_version(record: dict[str, Any], where: str) -> dict[str, Any]:
    """`record` migrated to SCHEMA_VERSION; EvalcliffError naming `where` when it cannot be.

    A record newer than this release, or older with no migration, is refused with what to
    do (upgrade evalcliff, or re-run to write a current record).
    """
    version = record.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise EvalcliffError(f"{where}: no integer schema_version; not an evalcliff record")
    if version > SCHEMA_VERSION:
        raise EvalcliffError(
            f"{where}: schema_version {version} is newer than this evalcliff reads "
            f"({SCHEMA_VERSION}); upgrade evalcliff"
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise EvalcliffError(
                f"{where}: schema_version {version} is too old to read (this evalcliff reads "
                f"{SCHEMA_VERSION}); run the variant again to write a current file"
            )
        record = step(record)
        version = int(record["schema_version"])
    return record
