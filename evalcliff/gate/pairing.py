"""Pair two runs' per-item results on item_id, refusing anything that is not a true pairing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalcliff.errors import EvalcliffError

_NEEDED = ("item_id", "slice", "prompt_hash", "score", "correct", "catastrophic")
_SHOW = 3


def _text(col: pd.Series) -> pd.Series:
    """A string column with missing values as ""."""
    return col.astype("string").fillna("").astype(str)


def _prepare(df: pd.DataFrame, side: str) -> pd.DataFrame:
    missing = [c for c in _NEEDED if c not in df.columns]
    if missing:
        raise EvalcliffError(f"{side} results: missing column(s) {missing}; see README 'Results'")
    out = pd.DataFrame(
        {
            "item_id": _text(df["item_id"]),
            "slice": _text(df["slice"]),
            "prompt_hash": _text(df["prompt_hash"]),
            # missing (no column, or null): nothing to check against the other run
            "target": df["target"].astype("string") if "target" in df else pd.NA,
            "stratum": _text(df["stratum"]) if "stratum" in df else "",
            "cluster_id": _text(df["cluster_id"]) if "cluster_id" in df else "",
            "score": pd.to_numeric(df["score"], errors="coerce").astype(np.float64),
            "correct": df["correct"].astype(bool),
            "catastrophic": df["catastrophic"].astype(bool),
            "error": (_text(df["error"]) != "") if "error" in df else False,
            "position": np.arange(len(df)),
        }
    )
    bad = ~np.isfinite(out["score"]) | (out["score"] < 0) | (out["score"] > 1)
    if bad.any():
        first = out.loc[bad, "item_id"].iloc[0]
        raise EvalcliffError(f"{side} results: 'score' must be in [0, 1]; item {first!r} is not")
    dup = out["item_id"].duplicated()
    if dup.any():
        first = out.loc[dup, "item_id"].iloc[0]
        raise EvalcliffError(f"{side} results: duplicate item_id {first!r}")
    return out


def _few(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_SHOW])
    return shown + (", ..." if len(ids) > _SHOW else "")


def _clip(text: object, limit: int = 60) -> str:
    """`text` quoted for a one-line message, cut to `limit` characters."""
    shown = repr(str(text))
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def _first_mismatch(paired: pd.DataFrame, col: str) -> tuple[str, int] | None:
    differs = paired[f"{col}_base"] != paired[f"{col}_cand"]
    if not differs.any():
        return None
    return str(paired.loc[differs, "item_id"].iloc[0]), int(differs.sum())


def pair_runs(base: pd.DataFrame, cand: pd.DataFrame) -> pd.DataFrame:
    """One row per item_id present in both runs, sorted by item_id.

    Columns: item_id, base_position (row number in `base`), slice, stratum, cluster_id
    (missing or empty: the item is its own cluster), score_base, score_cand, correct_base,
    correct_cand, catastrophic_base, catastrophic_cand, error_base, error_cand (bool: the
    item errored in that run).
    Raises EvalcliffError when the item sets differ, an item_id repeats, or the same item_id
    has a different prompt_hash, target (when both runs give one: a `target` column whose
    value is not null on either side) or slice in the two runs.
    """
    b, c = _prepare(base, "base"), _prepare(cand, "cand")
    only_base = sorted(set(b["item_id"]) - set(c["item_id"]))
    only_cand = sorted(set(c["item_id"]) - set(b["item_id"]))
    if only_base or only_cand:
        raise EvalcliffError(
            f"the two runs have different items: {len(only_base)} only in base"
            f"{' (' + _few(only_base) + ')' if only_base else ''}, {len(only_cand)} only in cand"
            f"{' (' + _few(only_cand) + ')' if only_cand else ''}; run both variants on the"
            " same suite build"
        )
    if len(b) == 0:
        raise EvalcliffError("the two runs have no items to compare")
    paired = b.merge(c, on="item_id", how="inner", suffixes=("_base", "_cand"))
    paired = paired.sort_values("item_id", kind="stable").reset_index(drop=True)
    hit = _first_mismatch(paired, "prompt_hash")
    if hit is not None:
        raise EvalcliffError(
            f"item {hit[0]!r} has a different prompt_hash in base and cand ({hit[1]} item(s)"
            " differ): the two runs did not see the same prompt; rebuild the suite and re-run"
        )
    both = paired["target_base"].notna() & paired["target_cand"].notna()
    hit = _first_mismatch(paired[both], "target")
    if hit is not None:
        row = paired.loc[paired["item_id"] == hit[0]].iloc[0]
        raise EvalcliffError(
            f"item {hit[0]!r} has target {_clip(row['target_base'])} in base but"
            f" {_clip(row['target_cand'])} in cand ({hit[1]} item(s) differ): the two runs were"
            " not scored against the same answers; rebuild the suite and re-run"
        )
    hit = _first_mismatch(paired, "slice")
    if hit is not None:
        row = paired.loc[paired["item_id"] == hit[0]].iloc[0]
        raise EvalcliffError(
            f"item {hit[0]!r} is in slice {row['slice_base']!r} in base but"
            f" {row['slice_cand']!r} in cand ({hit[1]} item(s) differ): the runs come from"
            " different suite versions"
        )
    # An item with no cluster is its own cluster; the prefix keeps it from joining a named one.
    own = "\0item:" + paired["item_id"]
    cluster = paired["cluster_id_base"].where(paired["cluster_id_base"] != "", own)
    return pd.DataFrame(
        {
            "item_id": paired["item_id"],
            "base_position": paired["position_base"],
            "slice": paired["slice_base"],
            "stratum": paired["stratum_base"],
            "cluster_id": cluster,
            "score_base": paired["score_base"],
            "score_cand": paired["score_cand"],
            "correct_base": paired["correct_base"],
            "correct_cand": paired["correct_cand"],
            "catastrophic_base": paired["catastrophic_base"],
            "catastrophic_cand": paired["catastrophic_cand"],
            "error_base": paired["error_base"],
            "error_cand": paired["error_cand"],
        }
    )
