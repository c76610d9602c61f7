"""Regressed items for the report: base correct, candidate wrong, paired on `item_id`.

Outputs are model text and untrusted: this module returns them as plain strings (truncated),
and the template escapes them like every other value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from evalcliff.report.formatting import truncate

_NEEDED = ("item_id", "slice", "correct", "output")
_OPTIONAL = ("stratum", "target", "score", "catastrophic", "error")


@dataclass(frozen=True)
class Clipped:
    """A text shown cut to a limit; `cut` is how many characters were left out (0 if none)."""

    text: str
    cut: int


@dataclass(frozen=True)
class RegressedItem:
    """One item the base got right and the candidate got wrong."""

    item_id: str
    stratum: str
    target: Clipped
    base_output: Clipped
    cand_output: Clipped
    cand_error: str
    cand_catastrophic: bool


@dataclass(frozen=True)
class SliceExamples:
    """Up to a few regressed items of one slice, out of `total` regressed in that slice."""

    slice: str
    total: int
    items: list[RegressedItem]


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _frame(df: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in _NEEDED if c not in df.columns]
    if missing:
        raise ValueError(f"{name} results lack column(s) {missing}")
    out = pd.DataFrame({"item_id": df["item_id"].map(_text)})
    out["slice"] = df["slice"].map(_text)
    out["correct"] = df["correct"].astype("boolean").fillna(False).astype(bool)
    out["output"] = df["output"].map(_text)
    for col in _OPTIONAL:
        if col == "score":
            out[col] = pd.to_numeric(df[col], errors="coerce") if col in df else float("nan")
        elif col == "catastrophic":
            out[col] = df[col].astype("boolean").fillna(False).astype(bool) if col in df else False
        else:
            out[col] = df[col].map(_text) if col in df else ""
    return out


def regressed_examples(
    base: pd.DataFrame,
    cand: pd.DataFrame,
    slice_order: Sequence[str] = (),
    per_slice: int = 5,
    max_chars: int = 300,
) -> list[SliceExamples]:
    """Items correct under `base` and wrong under `cand`, joined on `item_id`, per slice.

    Slices come in `slice_order`, then any others alphabetically; slices with no regressed
    item are left out. Within a slice, candidate-catastrophic items come first, then the
    largest score drops, then by item_id; at most `per_slice` are kept. Target and outputs
    are cut to `max_chars` characters. Raises ValueError if a frame lacks item_id, slice,
    correct or output.
    """
    b, c = _frame(base, "base"), _frame(cand, "candidate")
    joined = b.merge(c, on="item_id", how="inner", suffixes=("_b", "_c"))
    hit = joined[joined["correct_b"] & ~joined["correct_c"]].copy()
    hit["drop"] = (hit["score_b"] - hit["score_c"]).fillna(0.0)
    hit = hit.sort_values(
        ["catastrophic_c", "drop", "item_id"], ascending=[False, False, True], kind="stable"
    )
    present = list(dict.fromkeys(hit["slice_b"]))
    order = [s for s in slice_order if s in present]
    order += sorted(s for s in present if s not in order)
    out: list[SliceExamples] = []
    for name in order:
        rows = hit[hit["slice_b"] == name]
        items = [
            RegressedItem(
                item_id=str(r.item_id),
                stratum=str(r.stratum_b),
                target=Clipped(*truncate(str(r.target_b or r.target_c), max_chars)),
                base_output=Clipped(*truncate(str(r.output_b), max_chars)),
                cand_output=Clipped(*truncate(str(r.output_c), max_chars)),
                cand_error=truncate(str(r.error_c), max_chars)[0],
                cand_catastrophic=bool(r.catastrophic_c),
            )
            for r in rows.head(per_slice).itertuples(index=False)
        ]
        out.append(SliceExamples(slice=name, total=len(rows), items=items))
    return out
