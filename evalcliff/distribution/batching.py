"""How the token-KL pass lays out its work: batches of similar length, and groups of items
whose prompts share a long prefix (one document with several questions, few-shot exemplars),
so that the prefix is run through each model once per group instead of once per item.

Pure functions on token-id lists; no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def length_batches(lengths: Sequence[int], batch_size: int, batch_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (sorted), so padding stays small: at most
    `batch_size` per batch, and at most `batch_tokens` padded tokens unless a single sequence
    is longer."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    out: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        if cur and (len(cur) >= batch_size or (len(cur) + 1) * lengths[i] > batch_tokens):
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Number of leading tokens `a` and `b` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass(frozen=True)
class PrefixGroup:
    """Items (indices) whose prompts all start with the same `length` tokens; `length` is
    below every member's prompt length, so each member keeps at least its last prompt token
    (the position that predicts the first output token) in its own suffix."""

    length: int
    members: tuple[int, ...]


def prefix_groups(prompts: Sequence[Sequence[int]], min_shared: int) -> list[PrefixGroup]:
    """Groups of at least two items sharing at least `min_shared` leading prompt tokens,
    chosen to save the most prompt tokens among partitions of the prompts in sorted order.

    In sorted order, a run of items shares the smallest common prefix of neighbours in it. A
    run is either one group (saving (members - 1) * shared tokens) or split where that
    smallest neighbour prefix occurs, whichever saves more. Items in no group are left out.
    """
    order = sorted(range(len(prompts)), key=lambda i: list(prompts[i]))
    caps = [len(prompts[i]) - 1 for i in order]
    lcp = [common_prefix(prompts[a], prompts[b]) for a, b in zip(order, order[1:], strict=False)]
    best: dict[tuple[int, int], tuple[int, list[tuple[int, int, int]]]] = {}
    stack: list[tuple[int, int, bool]] = [(0, len(order), False)]
    while stack:  # post-order over runs [lo, hi) of `order`, without recursion
        lo, hi, ready = stack.pop()
        if hi - lo < 2:
            best[lo, hi] = (0, [])
            continue
        low = min(lcp[lo : hi - 1])
        cuts = [k + 1 for k in range(lo, hi - 1) if lcp[k] == low]
        parts = list(zip([lo, *cuts], [*cuts, hi], strict=True))
        if not ready:
            stack.append((lo, hi, True))
            if len(parts) > 1:
                stack.extend((a, b, False) for a, b in parts)
            continue
        shared = min(low, *caps[lo:hi])
        whole = ((hi - lo - 1) * shared, [(lo, hi, shared)]) if shared >= min_shared else (0, [])
        if len(parts) > 1:
            split = (sum(best[p][0] for p in parts), [g for p in parts for g in best[p][1]])
            whole = max(whole, split, key=lambda x: x[0])
        best[lo, hi] = whole
    _, chosen = best[0, len(order)]
    return [PrefixGroup(shared, tuple(order[lo:hi])) for lo, hi, shared in chosen]
