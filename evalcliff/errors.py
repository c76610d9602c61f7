"""Errors that reach the user as one actionable line (CLI exit code 2)."""


class EvalcliffError(Exception):
    """Bad input or configuration; the message names the file/field and what to do."""


# Backends return this prefix instead of text for a request that failed for good; the runner
# turns it into a row with `error` set (never a score) and never caches it.
ERROR_PREFIX = "\x00evalcliff-error: "
