"""Strata for the report: parsed into dimensions (`len=8k,depth=0.5` -> len, depth), ordered
numerically, and the marginal Δ per dimension value ("does it collapse at 32k?").

A marginal pools every stratum sharing one value of one dimension. With the per-item
results it is the mean paired difference over those items with a normal-approximation CI
(descriptive, like the strata themselves); from the summary alone it is the n-weighted
mean of the strata deltas, without a CI. Everything here is linear in the number of strata.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalcliff.schema.summary import SliceSummary, StratumSummary

_NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*([kKmM]?)\s*$")
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6}
Z = {0.9: 1.6449, 0.95: 1.9600, 0.99: 2.5758}


def parse_stratum(stratum: str) -> dict[str, str]:
    """'len=8k,depth=0.5' -> {'len': '8k', 'depth': '0.5'}; a part without '=' is kept
    under the dimension 'stratum'."""
    out: dict[str, str] = {}
    for part in str(stratum).split(","):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
        elif part.strip():
            out["stratum"] = part.strip()
    return out


def sort_key(value: str) -> tuple[int, float, str]:
    """Numbers first in numeric order ('1k' < '2k' < '16k', '0.1' < '0.5'), then text."""
    m = _NUMBER.match(value)
    if m is None:
        return (1, 0.0, value)
    return (0, float(m[1]) * _SCALE[m[2].lower()], value)


def ordered_strata(strata: Sequence[StratumSummary]) -> list[StratumSummary]:
    """Strata ordered dimension by dimension, numerically where values are numbers."""

    def key(st: StratumSummary) -> list[tuple[int, float, str]]:
        return [sort_key(v) for v in parse_stratum(st.stratum).values()]

    return sorted(strata, key=key)


@dataclass(frozen=True)
class Marginal:
    """Δ over the items whose stratum has `value` in dimension `dim` (fractions)."""

    dim: str
    value: str
    n: int
    base_mean: float | None
    cand_mean: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None


def _z(confidence: float) -> float:
    return Z.get(round(confidence, 4), 1.96)


def _item_marginal(
    dim: str, value: str, diffs: np.ndarray, base: np.ndarray, z: float
) -> Marginal:
    n = len(diffs)
    if n == 0:
        return Marginal(dim, value, 0, None, None, None, None, None)
    d = float(diffs.mean())
    half = z * float(diffs.std(ddof=1)) / math.sqrt(n) if n > 1 else None
    b = float(base.mean())
    return Marginal(
        dim,
        value,
        n,
        b,
        b + d,
        d,
        None if half is None else max(-1.0, d - half),
        None if half is None else min(1.0, d + half),
    )


def _summary_marginal(dim: str, value: str, strata: list[StratumSummary]) -> Marginal:
    known = [s for s in strata if s.delta is not None and s.n > 0]
    n = sum(s.n for s in known)
    if n == 0:
        return Marginal(dim, value, 0, None, None, None, None, None)
    d = sum(s.n * (s.delta or 0.0) for s in known) / n
    b = sum(s.n * (s.base_mean or 0.0) for s in known if s.base_mean is not None) / n
    return Marginal(dim, value, n, b, b + d, d, None, None)


def marginals(
    sl: SliceSummary,
    pairs: pd.DataFrame | None = None,
    confidence: float = 0.95,
) -> dict[str, list[Marginal]]:
    """Dimension -> marginal Δ per value (numeric order) for a slice with at least two
    strata; {} otherwise. `pairs`: this slice's valid pairs with columns stratum, score_b,
    score_c (then CIs are computed), or None (strata deltas pooled, no CI)."""
    if len(sl.strata) < 2:
        return {}
    dims: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for st in sl.strata:
        for dim, value in parse_stratum(st.stratum).items():
            dims[dim][value].append(st.stratum)
    out: dict[str, list[Marginal]] = {}
    by_name = {st.stratum: st for st in sl.strata}
    z = _z(confidence)
    groups: Mapping[str, np.ndarray] = {}
    if pairs is not None and len(pairs):
        diffs = (pairs["score_c"] - pairs["score_b"]).to_numpy(dtype=float)
        codes, uniques = pd.factorize(pairs["stratum"].astype(str))
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        groups = {
            str(u): order[bounds[i] : bounds[i + 1]] for i, u in enumerate(uniques)
        }
        base_scores = pairs["score_b"].to_numpy(dtype=float)
    for dim, values in dims.items():
        rows: list[Marginal] = []
        for value in sorted(values, key=sort_key):
            names = values[value]
            if groups:
                idx = [groups[s] for s in names if s in groups]
                sel = np.concatenate(idx) if idx else np.array([], dtype=int)
                rows.append(_item_marginal(dim, value, diffs[sel], base_scores[sel], z))
            else:
                rows.append(_summary_marginal(dim, value, [by_name[s] for s in names]))
        if len(rows) >= 2:
            out[dim] = rows
    return out


def valid_pairs(base: pd.DataFrame, cand: pd.DataFrame) -> pd.DataFrame:
    """Items error-free in both runs, joined on item_id: item_id, slice, stratum, score_b,
    score_c (the pairs the statistics use)."""

    def ok(df: pd.DataFrame) -> pd.DataFrame:
        err = df["error"] if "error" in df else pd.Series(None, index=df.index)
        keep = err.isna() | (err.astype(str) == "")
        cols = ["item_id", "slice", "stratum", "score"]
        return df.loc[keep, cols].astype({"item_id": str, "slice": str, "stratum": str})

    b, c = ok(base), ok(cand)
    joined = b.merge(c[["item_id", "score"]], on="item_id", suffixes=("_b", "_c"))
    return joined
