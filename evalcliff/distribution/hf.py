"""Teacher-forced token KL(base || cand) and top-1 agreement for two hf checkpoints.

For every item the base variant's own output is appended to the prompt (tokenised
separately, as lm-eval does), both models score the sequence in one forward pass each,
and at every position that predicts an output token (or, for an empty output, the first
position after the prompt) we compare the two next-token distributions:

- `kl_mean`: mean over those positions of KL(p_base || p_cand), in nats;
- `top1_agree`: share of those positions where both argmaxes agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from evalcliff.runner.progress import counter
from evalcliff.suites.items import Item


def _progress(items: list[Item]) -> Iterator[Item]:
    """`items`, counted by a tqdm bar on a terminal, else a line per ~10% or 30 s."""
    with counter(len(items), "token KL") as bar:
        for it in items:
            yield it
            bar.update(1)


def token_divergence(
    base_dir: Path,
    cand_dir: Path,
    items: list[Item],
    base_outputs: dict[str, str],
    dtype: str = "float32",
) -> pd.DataFrame:
    """One row per item: item_id, slice, cluster_id, n_positions, kl_mean, top1_agree."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    tok = AutoTokenizer.from_pretrained(base_dir)
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch_dtype)
    base.eval()  # type: ignore[no-untyped-call]
    cand = AutoModelForCausalLM.from_pretrained(cand_dir, dtype=torch_dtype)
    cand.eval()  # type: ignore[no-untyped-call]
    rows: list[dict[str, Any]] = []
    with torch.inference_mode():
        for it in _progress(items):
            p_ids = tok.encode(it.prompt, add_special_tokens=False)
            o_ids = tok.encode(base_outputs.get(it.item_id, ""), add_special_tokens=False)
            ids = torch.tensor([p_ids + o_ids])
            first = len(p_ids) - 1
            last = first + max(1, len(o_ids))
            lb = torch.log_softmax(base(input_ids=ids).logits[0, first:last].float(), -1)
            lc = torch.log_softmax(cand(input_ids=ids).logits[0, first:last].float(), -1)
            kl = (lb.exp() * (lb - lc)).sum(-1)
            agree = (lb.argmax(-1) == lc.argmax(-1)).float()
            rows.append(
                {
                    "item_id": it.item_id,
                    "slice": it.slice,
                    "cluster_id": it.cluster_id,
                    "n_positions": int(kl.numel()),
                    "kl_mean": float(kl.mean().clamp_min(0.0)),
                    "top1_agree": float(agree.mean()),
                }
            )
    return pd.DataFrame(rows)
