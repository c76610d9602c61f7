"""The token-KL pass: however it lays out the work (batches, shared prompt prefixes run once,
logits only where compared), its numbers are those of scoring each whole sequence on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalcliff.distribution.batching import common_prefix, length_batches, prefix_groups


def test_length_batches_respect_both_limits() -> None:
    lengths = [5, 1, 9, 3, 3, 7, 2]
    batches = length_batches(lengths, batch_size=3, batch_tokens=12)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 12
    assert length_batches([50], 4, 8) == [[0]]  # one over-long sequence still gets a batch


def test_prefix_groups() -> None:
    doc = list(range(100, 140))  # 40 tokens
    prompts = [
        doc + [1, 2],  # 0: doc + question
        [7, 8, 9],  # 1: shares nothing
        doc + [3],  # 2: doc + another question
        doc[:20] + [5, 5, 5],  # 3: shares only half the doc
        doc + [1, 2],  # 4: the same prompt as 0
        doc,  # 5: the doc alone: keeps its last token for its own suffix
    ]
    groups = prefix_groups(prompts, min_shared=8)
    assert len(groups) == 1
    (g,) = groups
    assert sorted(g.members) == [0, 2, 4, 5]
    assert g.length == 39
    for i in g.members:
        assert g.length < len(prompts[i])
        assert common_prefix(prompts[i], prompts[g.members[0]]) >= g.length
    # item 3 could join at 20 shared tokens, but 4 * 20 saves less than 3 * 39
    assert [sorted(x.members) for x in prefix_groups(prompts, min_shared=16)] == [[0, 2, 4, 5]]
    # above 39, only the repeated prompt is worth a group
    assert [(x.length, sorted(x.members)) for x in prefix_groups(prompts, 41)] == [(41, [0, 4])]
    assert prefix_groups(prompts, min_shared=42) == []
    assert prefix_groups([[1, 2, 3], [1, 2, 4]], min_shared=2)[0].length == 2


def _reference(base_dir: Path, cand_dir: Path, items: list, outputs: dict[str, str]) -> list:
    """The straightforward pass: each whole sequence alone, full logits, no cache."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_dir)
    base = AutoModelForCausalLM.from_pretrained(base_dir).eval()
    cand = AutoModelForCausalLM.from_pretrained(cand_dir).eval()
    out = []
    with torch.inference_mode():
        for it in items:
            p = tok.encode(it.prompt, add_special_tokens=False)
            o = tok.encode(outputs.get(it.item_id, ""), add_special_tokens=False)
            ids = torch.tensor([p + o])
            first, last = len(p) - 1, len(p) - 1 + max(1, len(o))
            lb = torch.log_softmax(base(input_ids=ids).logits[0, first:last], -1)
            lc = torch.log_softmax(cand(input_ids=ids).logits[0, first:last], -1)
            kl = (lb.exp() * (lb - lc)).sum(-1)
            agree = (lb.argmax(-1) == lc.argmax(-1)).float()
            out.append(
                (it.item_id, last - first, float(kl.mean().clamp_min(0)), float(agree.mean()))
            )
    return out


@pytest.mark.parametrize(
    ("batch_size", "min_shared"), [(32, 32), (3, 4), (1, 0)], ids=["default", "small", "plain"]
)
def test_kl_pass_equals_each_sequence_alone(
    mini_suite: Path, batch_size: int, min_shared: int
) -> None:
    from evalcliff.backends.hf import checkpoint_dir
    from evalcliff.config.variants import builtin_variant
    from evalcliff.distribution.hf import token_divergence
    from evalcliff.runner.run import prepare_items
    from evalcliff.suites.items import Item
    from evalcliff.suites.spec import load_suite

    items, _ = prepare_items(load_suite(str(mini_suite)))
    # mini's long-context items share their document in pairs; add groups of other shapes:
    # three questions on one document (one prompt repeated), a prompt that is the document
    # alone, and one sharing only half of it
    doc = next(it.prompt for it in items if it.slice == "long_context")
    extra = [doc + " What is k1?", doc + " What is k2?", doc + " What is k1?", doc]
    extra.append(doc[: len(doc) // 2] + " and so on.")
    for n, prompt in enumerate(extra):
        items.append(Item(item_id=f"x{n}", suite="mini", slice="long_context",
                          stratum="x", cluster_id=f"x{n}", prompt=prompt, target="v"))  # fmt: skip
    # uneven output lengths (some empty) so that batches are padded
    outputs = {it.item_id: it.target * (i % 3) for i, it in enumerate(items)}
    base_dir, _ = checkpoint_dir(builtin_variant("fp16"))  # type: ignore[arg-type]
    cand_dir, _ = checkpoint_dir(builtin_variant("q4"))  # type: ignore[arg-type]
    got = token_divergence(
        base_dir, cand_dir, items, outputs, batch_size=batch_size, min_shared_prefix=min_shared
    )
    want = _reference(base_dir, cand_dir, items, outputs)
    assert list(got["item_id"]) == [w[0] for w in want]
    assert list(got["n_positions"]) == [w[1] for w in want]
    assert got["kl_mean"].to_numpy() == pytest.approx([w[2] for w in want], abs=1e-5)
    assert list(got["top1_agree"]) == [w[3] for w in want]
    assert max(w[2] for w in want) > 0  # q4 differs from fp16: the comparison is not vacuous
