"""Teacher-forced token KL(base || cand) and top-1 agreement for two hf checkpoints.

For every item the base variant's own output is appended to the prompt (tokenised
separately, as lm-eval does), both models score the sequence in one forward pass each,
and at every position that predicts an output token (or, for an empty output, the first
position after the prompt) we compare the two next-token distributions:

- `kl_mean`: mean over those positions of KL(p_base || p_cand), in nats;
- `top1_agree`: share of those positions where both argmaxes agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from evalcliff.runner.progress import counter, interactive
from evalcliff.suites.items import Item

# Sequences per forward pass, and padded tokens per batch (CPU memory and cache-friendly).
BATCH_SIZE = 32
BATCH_TOKENS = 8192


def _batches(lengths: list[int], batch_size: int, batch_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (sorted), so padding stays small."""
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


def token_divergence(
    base_dir: Path,
    cand_dir: Path,
    items: list[Item],
    base_outputs: dict[str, str],
    dtype: str = "float32",
    batch_size: int = BATCH_SIZE,
) -> pd.DataFrame:
    """One row per item: item_id, slice, cluster_id, n_positions, kl_mean, top1_agree.

    Sequences are scored `batch_size` at a time (right-padded, with an attention mask, so a
    real token never attends to padding); the numbers equal the one-at-a-time pass within
    float rounding. `batch_size=1` is that pass.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not interactive():  # its "Loading weights" bar is carriage returns in a CI log
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    torch_dtype = getattr(torch, dtype)
    tok = AutoTokenizer.from_pretrained(base_dir)
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch_dtype)
    base.eval()  # type: ignore[no-untyped-call]
    cand = AutoModelForCausalLM.from_pretrained(cand_dir, dtype=torch_dtype)
    cand.eval()  # type: ignore[no-untyped-call]
    seqs: list[tuple[list[int], int, int]] = []  # token ids, first scored position, last + 1
    for it in items:
        p_ids = tok.encode(it.prompt, add_special_tokens=False)
        o_ids = tok.encode(base_outputs.get(it.item_id, ""), add_special_tokens=False)
        first = len(p_ids) - 1
        seqs.append((p_ids + o_ids, first, first + max(1, len(o_ids))))
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    rows: list[dict[str, Any] | None] = [None] * len(items)
    lengths = [len(ids) for ids, _, _ in seqs]
    # a tqdm bar on a terminal, else a line per ~10% or 30 s (no carriage-return floods)
    with torch.inference_mode(), counter(len(items), "token KL") as bar:
        for batch in _batches(lengths, max(1, batch_size), BATCH_TOKENS):
            width = max(lengths[i] for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):
                ids[r, : lengths[i]] = torch.tensor(seqs[i][0])
                mask[r, : lengths[i]] = 1
            kwargs: dict[str, Any] = {"input_ids": ids}
            if len(batch) > 1:
                kwargs["attention_mask"] = mask
            logits_b = base(**kwargs).logits
            logits_c = cand(**kwargs).logits
            for r, i in enumerate(batch):
                _, first, last = seqs[i]
                lb = torch.log_softmax(logits_b[r, first:last].float(), -1)
                lc = torch.log_softmax(logits_c[r, first:last].float(), -1)
                kl = (lb.exp() * (lb - lc)).sum(-1)
                agree = (lb.argmax(-1) == lc.argmax(-1)).float()
                it = items[i]
                rows[i] = {
                    "item_id": it.item_id,
                    "slice": it.slice,
                    "cluster_id": it.cluster_id,
                    "n_positions": int(kl.numel()),
                    "kl_mean": float(kl.mean().clamp_min(0.0)),
                    "top1_agree": float(agree.mean()),
                }
            bar.update(len(batch))
    return pd.DataFrame([r for r in rows if r is not None])
