"""Errors that reach the user as one actionable line (CLI exit code 2)."""


class EvalcliffError(Exception):
    """Bad input or configuration; the message names the file/field and what to do."""
