"""Strict reading of the text files users hand us: UTF-8 only, YAML without duplicate keys.

Every failure is an `EvalcliffError` with one line that names the file (and the line where
there is one), so the CLI can stop with exit code 2 before any work starts.

- `read_text(path, what)`: the file's text; a missing, unreadable or non-UTF-8 file is an error
  (a leading UTF-8 byte-order mark is dropped).
- `decode_line(raw, path, lineno)`: one line of a line-oriented file (JSONL) as text.
- `load_yaml(text, path)`: YAML through a SafeLoader that refuses duplicate mapping keys
  (plain `yaml.safe_load` keeps the last one silently) and reports errors with line numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from evalcliff.errors import EvalcliffError

_BOM = "\ufeff"


def _not_utf8(path: Path | str, exc: UnicodeDecodeError, data: bytes, line: int | None) -> str:
    where = f"{path}:{line}" if line is not None else str(path)
    bad = data[exc.start]
    if line is None:
        line = data.count(b"\n", 0, exc.start) + 1
        return (
            f"{where}: not UTF-8 (byte 0x{bad:02x} at offset {exc.start}, line {line}); "
            "save it as UTF-8"
        )
    return f"{where}: not UTF-8 (byte 0x{bad:02x} at offset {exc.start}); save it as UTF-8"


def read_text(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of `path`. `what` names the file's role in the messages (e.g. "config").

    Raises EvalcliffError: "PATH: <what> not found", "PATH: not UTF-8 (byte 0x.. at offset N,
    line L); save it as UTF-8", or "PATH: cannot read <what>: <reason>".
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise EvalcliffError(f"{p}: {what} not found") from None
    except IsADirectoryError:
        raise EvalcliffError(f"{p}: is a directory, not a {what}") from None
    except OSError as exc:
        raise EvalcliffError(f"{p}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvalcliffError(_not_utf8(p, exc, data, None)) from None
    return text.removeprefix(_BOM)


def decode_line(raw: bytes, path: str | Path, lineno: int) -> str:
    """One line of a line-oriented file as text; "PATH:LINE: not UTF-8 (...)" otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvalcliffError(_not_utf8(path, exc, raw, lineno)) from None
    return text.removeprefix(_BOM) if lineno == 1 else text


class StrictSafeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses a mapping key given twice (at any depth)."""


def _construct_mapping(
    loader: StrictSafeLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor`: explicit keys may override merged ones
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key; construct_mapping reports it
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {first})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def yaml_error_line(exc: yaml.YAMLError, path: str | Path) -> str:
    """One line for a YAML error: "PATH: line N: problem"."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context and "duplicate key" not in str(problem) else problem
    text = " ".join(str(text).split())
    if mark is not None:
        return f"{path}: line {mark.line + 1}: {text}"
    return f"{path}: invalid YAML: {text}"


def load_yaml(text: str, path: str | Path) -> object:
    """Parse YAML `text` (read from `path`, named in errors) with `StrictSafeLoader`.

    Raises EvalcliffError "PATH: line N: duplicate key 'margin' (first at line M)" for a
    repeated key, and "PATH: line N: <problem>" for any other YAML error.
    """
    try:
        return yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise EvalcliffError(yaml_error_line(exc, path)) from None


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to a uniquely named temporary file beside `path`, then rename it
    over `path`: a reader sees the old file or the new one, never half of one."""
    import os
    import uuid

    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
