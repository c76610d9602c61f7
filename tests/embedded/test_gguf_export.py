"""GGUF export of the embedded model (gguf package only; llama.cpp checks are marked)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalcliff.embedded import MODEL_DIR
from evalcliff.embedded.gguf import embedded_gguf, gguf_tensor_name, unpermute_rotary
from evalcliff.errors import EvalcliffError

gguf = pytest.importorskip("gguf", reason="the gguf package comes with the dev extra")


def _hf_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """transformers' convert_llama_weights_to_hf permutation (interleaved -> rotate-half)."""
    d1, d2 = w.shape
    return w.reshape(n_head, d1 // n_head // 2, 2, d2).swapaxes(1, 2).reshape(d1, d2)


def test_unpermute_inverts_the_hf_rotary_permutation() -> None:
    w = np.arange(256 * 64, dtype=np.float32).reshape(256, 64)
    assert np.array_equal(unpermute_rotary(_hf_permute(w, 8), 8), w)


def test_tensor_names() -> None:
    assert gguf_tensor_name("model.layers.3.self_attn.q_proj.weight") == "blk.3.attn_q.weight"
    assert gguf_tensor_name("model.layers.0.mlp.down_proj.weight") == "blk.0.ffn_down.weight"
    assert gguf_tensor_name("lm_head.weight") == "output.weight"
    with pytest.raises(EvalcliffError, match="Llama only"):
        gguf_tensor_name("model.layers.0.moe.router.weight")


def test_export_is_cached_and_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path))
    path = embedded_gguf("F16")
    assert embedded_gguf("F16") == path  # cached
    reader = gguf.GGUFReader(str(path))
    names = {t.name for t in reader.tensors}
    assert {"token_embd.weight", "output.weight", "output_norm.weight"} <= names
    assert len(names) == 3 + 4 * 9  # 4 blocks x (7 linears + 2 norms)
    fields = reader.fields
    pre = fields["tokenizer.ggml.pre"]
    assert bytes(pre.parts[pre.data[0]]).decode() == "gpt-2"
    n_tokens = len(fields["tokenizer.ggml.tokens"].data)
    import json

    assert n_tokens == json.loads((MODEL_DIR / "config.json").read_text())["vocab_size"]
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    assert types["blk.0.attn_q.weight"] == "F16" and types["blk.0.attn_norm.weight"] == "F32"


def test_unknown_quant_type_is_named() -> None:
    with pytest.raises(EvalcliffError, match="gguf_quant 'Q4_K_X'"):
        embedded_gguf("Q4_K_X")
