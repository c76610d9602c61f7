"""Teacher-forced token KL(base || cand) and top-1 agreement for two hf checkpoints.

For every item the base variant's own output is appended to the prompt (tokenised
separately, as lm-eval does), both models score the sequence, and at every position that
predicts an output token (or, for an empty output, the first position after the prompt) we
compare the two next-token distributions:

- `kl_mean`: mean over those positions of KL(p_base || p_cand), in nats;
- `top1_agree`: share of those positions where both argmaxes agree.

Only the work changes with the layout, never the numbers (within float rounding): sequences
run in right-padded batches of similar length; items whose prompts share a long prefix (one
document with several questions) run that prefix once per model, and their suffixes attend
to its cached keys and values; logits are computed only where they are compared.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evalcliff.distribution.batching import PrefixGroup, length_batches, prefix_groups
from evalcliff.runner.progress import counter, interactive
from evalcliff.suites.items import Item

if TYPE_CHECKING:
    import torch

# Sequences per forward pass, and padded tokens per batch: on one CPU core, batches of about
# 1k tokens ran ~20-25% faster than 8k ones (their activations stay in cache).
BATCH_SIZE = 32
BATCH_TOKENS = 1024
# Cached prefix tokens per suffix batch (every row holds its own copy of its prefix's keys
# and values), which bounds memory like an 8k-token batch without a prefix would.
CACHE_TOKENS = 8192
# Prompt tokens items must share to run them once (below this, the extra pass for the
# prefix and the cache copies cost about what they save).
MIN_SHARED_PREFIX = 32


@dataclass(frozen=True)
class _Seq:
    ids: list[int]  # prompt + output token ids
    first: int  # first scored position (the last prompt token)
    last: int  # last scored position + 1


class _Scorer:
    """A causal LM called the same way across transformers versions: logits of the last
    `keep` positions only (where the model supports it), an optional cache."""

    def __init__(self, model: Any) -> None:
        params = inspect.signature(model.forward).parameters
        self.model = model
        self.cache_kw = "cache" if "cache" in params else "past_key_values"
        self.trims = "logits_to_keep" in params

    def logits(self, keep: int, **kwargs: Any) -> torch.Tensor:
        """(batch, keep, vocab): the logits at the last `keep` positions of `input_ids`."""
        if "cache" in kwargs:
            kwargs[self.cache_kw] = kwargs.pop("cache")
        if self.trims:
            return self.model(**kwargs, logits_to_keep=keep).logits  # type: ignore[no-any-return]
        return self.model(**kwargs).logits[:, -keep:]  # type: ignore[no-any-return]


def _compare(
    logits_b: torch.Tensor, logits_c: torch.Tensor, spans: list[tuple[int, int]]
) -> list[tuple[int, float, float]]:
    """Per row r: (positions, mean KL, top-1 agreement) over logits[r, start:end]."""
    import torch

    rows = [r for r, (s, e) in enumerate(spans) for _ in range(e - s)]
    cols = [c for s, e in spans for c in range(s, e)]
    lb = torch.log_softmax(logits_b[rows, cols].float(), -1)
    lc = torch.log_softmax(logits_c[rows, cols].float(), -1)
    kl = (lb.exp() * (lb - lc)).sum(-1)
    agree = (lb.argmax(-1) == lc.argmax(-1)).float()
    counts = [e - s for s, e in spans]
    return [
        (int(k.numel()), float(k.mean().clamp_min(0.0)), float(a.mean()))
        for k, a in zip(torch.split(kl, counts), torch.split(agree, counts), strict=True)
    ]


def _plain_batch(
    models: tuple[_Scorer, _Scorer], seqs: list[_Seq], pad: int
) -> list[tuple[int, float, float]]:
    """Whole sequences, right-padded. No attention mask: padding only follows real tokens,
    and causal attention never looks ahead."""
    import torch

    width = max(len(s.ids) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s.ids)] = torch.tensor(s.ids)
    keep = width - min(s.first for s in seqs)
    spans = [(s.first - width + keep, s.last - width + keep) for s in seqs]
    lb, lc = (m.logits(keep, input_ids=ids, use_cache=False) for m in models)
    return _compare(lb, lc, spans)


def _grouped_batches(
    models: tuple[_Scorer, _Scorer],
    seqs: list[_Seq],
    groups: list[PrefixGroup],
    pad: int,
    batch_size: int,
) -> list[tuple[list[int], list[tuple[int, float, float]]]]:
    """The groups' shared prefixes in one right-padded pass per model (their keys and values
    cached), then the members' suffixes, right-padded, each row attending to its own group's
    prefix (the mask hides the cache slots past it): (item indices, results) per suffix
    batch."""
    import torch
    from transformers import DynamicCache

    width = max(g.length for g in groups)
    pre_ids = torch.full((len(groups), width), pad, dtype=torch.long)
    pre_mask = torch.zeros((len(groups), width), dtype=torch.long)
    for r, g in enumerate(groups):
        pre_ids[r, : g.length] = torch.tensor(seqs[g.members[0]].ids[: g.length])
        pre_mask[r, : g.length] = 1
    caches = []
    for m in models:
        cache = DynamicCache()
        m.logits(1, input_ids=pre_ids, cache=cache, use_cache=True)  # causal: no mask needed
        caches.append(cache)

    rows = [(r, i) for r, g in enumerate(groups) for i in g.members]
    suffix_len = [len(seqs[i].ids) - groups[r].length for r, i in rows]
    out = []
    for batch in length_batches([width + n for n in suffix_len], batch_size, CACHE_TOKENS):
        sel = [rows[k] for k in batch]
        s_width = max(suffix_len[k] for k in batch)
        ids = torch.full((len(sel), s_width), pad, dtype=torch.long)
        mask = torch.zeros((len(sel), s_width), dtype=torch.long)
        spans, starts = [], []
        for b, (r, i) in enumerate(sel):
            p, s = groups[r].length, seqs[i]
            ids[b, : len(s.ids) - p] = torch.tensor(s.ids[p:])
            mask[b, : len(s.ids) - p] = 1
            spans.append((s.first - p, s.last - p))
            starts.append(p)
        keep = s_width - min(a for a, _ in spans)
        spans = [(a - s_width + keep, e - s_width + keep) for a, e in spans]
        group_rows = torch.tensor([r for r, _ in sel])
        kwargs = {
            "input_ids": ids,
            "attention_mask": torch.cat([pre_mask[group_rows], mask], 1),
            "position_ids": torch.tensor(starts)[:, None] + torch.arange(s_width),
        }
        logits = []
        for m, cache in zip(models, caches, strict=True):
            c = copy.deepcopy(cache)
            c.batch_select_indices(group_rows)
            logits.append(m.logits(keep, cache=c, **kwargs))
        out.append(([i for _, i in sel], _compare(logits[0], logits[1], spans)))
    return out


def token_divergence(
    base_dir: Path,
    cand_dir: Path,
    items: list[Item],
    base_outputs: dict[str, str],
    dtype: str = "float32",
    batch_size: int = BATCH_SIZE,
    min_shared_prefix: int = MIN_SHARED_PREFIX,
) -> pd.DataFrame:
    """One row per item: item_id, slice, cluster_id, n_positions, kl_mean, top1_agree.

    Sequences are scored up to `batch_size` at a time, and items sharing at least
    `min_shared_prefix` prompt tokens run that prefix once (0 turns this off); the numbers
    equal those of scoring each whole sequence on its own within float rounding.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not interactive():  # its "Loading weights" bar is carriage returns in a CI log
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    torch_dtype = getattr(torch, dtype)
    tok = AutoTokenizer.from_pretrained(base_dir)
    loaded = []
    for d in (base_dir, cand_dir):
        model = AutoModelForCausalLM.from_pretrained(d, dtype=torch_dtype)
        model.eval()  # type: ignore[no-untyped-call]
        loaded.append(_Scorer(model))
    models = (loaded[0], loaded[1])
    seqs: list[_Seq] = []
    prompts: list[list[int]] = []
    for it in items:
        p_ids = tok.encode(it.prompt, add_special_tokens=False)
        o_ids = tok.encode(base_outputs.get(it.item_id, ""), add_special_tokens=False)
        first = len(p_ids) - 1
        seqs.append(_Seq(p_ids + o_ids, first, first + max(1, len(o_ids))))
        prompts.append(p_ids)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    batch_size = max(1, batch_size)
    groups = prefix_groups(prompts, min_shared_prefix) if min_shared_prefix > 0 else []
    grouped = {i for g in groups for i in g.members}
    plain = [i for i in range(len(items)) if i not in grouped]
    results: dict[int, tuple[int, float, float]] = {}
    # a tqdm bar on a terminal, else a line per ~10% or 30 s (no carriage-return floods)
    with torch.inference_mode(), counter(len(items), "token KL") as bar:
        lengths = [len(seqs[i].ids) for i in plain]
        for batch in length_batches(lengths, batch_size, BATCH_TOKENS):
            idx = [plain[k] for k in batch]
            results.update(zip(idx, _plain_batch(models, [seqs[i] for i in idx], pad), strict=True))
            bar.update(len(idx))
        # groups in batches of similar prefix length; each batch's cache is dropped after use
        for gbatch in length_batches([g.length for g in groups], batch_size, BATCH_TOKENS):
            chosen = [groups[k] for k in gbatch]
            for idx, res in _grouped_batches(models, seqs, chosen, pad, batch_size):
                results.update(zip(idx, res, strict=True))
                bar.update(len(idx))
    rows = []
    for i, it in enumerate(items):
        n, kl, agree = results[i]
        rows.append(
            {
                "item_id": it.item_id,
                "slice": it.slice,
                "cluster_id": it.cluster_id,
                "n_positions": n,
                "kl_mean": kl,
                "top1_agree": agree,
            }
        )
    return pd.DataFrame(rows)
