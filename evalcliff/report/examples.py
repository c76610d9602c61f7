"""Flipped items for the report's browser: correct in one run and wrong in the other,
paired on `item_id`.

Outputs are model text and untrusted: this module returns them as plain strings (truncated),
and the template escapes them like every other value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True)
class FlipItem:
    """One item whose correctness differs between the runs: `regressed` (base right,
    candidate wrong) or improved. Texts are clipped; `prompt` is "" when unknown."""

    item_id: str
    slice: str
    stratum: str
    regressed: bool
    prompt: Clipped
    target: Clipped
    base_output: Clipped
    cand_output: Clipped
    cand_catastrophic: bool


def _clip_middle(text: str, max_chars: int) -> Clipped:
    """Long prompts keep their start and their end (the question is usually last)."""
    if len(text) <= max_chars:
        return Clipped(text, 0)
    half = max_chars // 2
    return Clipped(text[:half] + " … " + text[-half:], len(text) - 2 * half)


def flipped_items(
    base: pd.DataFrame,
    cand: pd.DataFrame,
    slice_order: Sequence[str] = (),
    prompts: Mapping[str, str] | None = None,
    max_chars: int = 300,
    max_prompt_chars: int = 1200,
    limit: int = 10_000,
) -> tuple[list[FlipItem], int]:
    """(every flipped item, both directions, up to `limit`; how many flipped in all).

    Slices come in `slice_order`, then alphabetically; within a slice regressions first
    (candidate-catastrophic ones leading), then improvements, by item_id. The prompt comes
    from `prompts` (item_id -> text) or a `prompt` column of either frame. Outputs and
    targets are cut to `max_chars`, prompts to `max_prompt_chars` (start and end kept).
    """
    b, c = _frame(base, "base"), _frame(cand, "candidate")
    for name, df in (("b", base), ("c", cand)):
        if "prompt" in df.columns:
            (b if name == "b" else c)["prompt"] = df["prompt"].map(_text)
    joined = b.merge(c, on="item_id", how="inner", suffixes=("_b", "_c"))
    ok = (joined["error_b"] == "") & (joined["error_c"] == "")
    flip = joined[ok & (joined["correct_b"] != joined["correct_c"])].copy()
    total = len(flip)
    rank = {s: i for i, s in enumerate(slice_order)}
    flip["_order"] = flip["slice_b"].map(lambda s: rank.get(s, len(rank)))
    flip["_regr"] = flip["correct_b"]
    flip = flip.sort_values(
        ["_order", "slice_b", "_regr", "catastrophic_c", "item_id"],
        ascending=[True, True, False, False, True],
        kind="stable",
    ).head(limit)
    cols = {c: flip[c].tolist() for c in flip.columns}
    prompt_b = cols.get("prompt_b") or cols.get("prompt") or [""] * len(flip)
    prompt_c = cols.get("prompt_c") or [""] * len(flip)
    out: list[FlipItem] = []
    for i, item_id in enumerate(cols["item_id"]):
        prompt = (prompts or {}).get(item_id) or prompt_b[i] or prompt_c[i] or ""
        out.append(
            FlipItem(
                item_id=str(item_id),
                slice=cols["slice_b"][i],
                stratum=cols["stratum_b"][i],
                regressed=bool(cols["correct_b"][i]),
                prompt=_clip_middle(str(prompt), max_prompt_chars),
                target=Clipped(*truncate(cols["target_b"][i] or cols["target_c"][i], max_chars)),
                base_output=Clipped(*truncate(cols["output_b"][i], max_chars)),
                cand_output=Clipped(*truncate(cols["output_c"][i], max_chars)),
                cand_catastrophic=bool(cols["catastrophic_c"][i]),
            )
        )
    return out, total
