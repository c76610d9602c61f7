"""Export the embedded model to GGUF and quantize it with llama.cpp's own quantizer.

    python -m evalcliff.embedded.gguf --quant Q4_K_M      # prints the cached file's path

The exporter writes a llama-architecture GGUF with the `gguf` package (llama.cpp's
gguf-py): block weights and embeddings in F16, norms in F32, and the query/key projections
permuted from the Hugging Face rotary layout back to llama.cpp's. The tokenizer is written
as a GPT-2 style byte-level BPE with the `gpt-2` pre-tokenizer: our merges only join the
bytes of one character, so llama.cpp's word split yields the same tokens as the Hugging Face
tokenizer (tests check every smoke prompt). Quantized files come from
`llama_model_quantize`, the library call behind `llama-quantize` (needs the `gguf` extra).
Files are cached under `$EVALCLIFF_CACHE/gguf/<source weights hash>/`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from evalcliff.errors import EvalcliffError
from evalcliff.paths import cache_dir

# bump when the exported file's contents change (part of the cache path)
EXPORTER_VERSION = 1

# llama.cpp file types (enum llama_ftype) by the names llama-quantize uses
FTYPES: dict[str, int] = {
    "F16": 1,
    "Q4_0": 2,
    "Q8_0": 7,
    "Q2_K": 10,
    "Q3_K_M": 12,
    "Q4_K_S": 14,
    "Q4_K_M": 15,
    "Q5_K_M": 17,
    "Q6_K": 18,
}

_HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
    "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
}


def gguf_tensor_name(hf_name: str) -> str:
    """llama.cpp's name for a Hugging Face Llama tensor name."""
    fixed = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    }
    if hf_name in fixed:
        return fixed[hf_name]
    parts = hf_name.split(".")
    if parts[:2] != ["model", "layers"] or len(parts) < 5:
        raise EvalcliffError(f"GGUF export: unexpected tensor {hf_name!r} (Llama only)")
    layer, rest = parts[2], ".".join(parts[3:-1])
    if rest not in _HF_TO_GGUF:
        raise EvalcliffError(f"GGUF export: unexpected tensor {hf_name!r} (Llama only)")
    return f"blk.{layer}.{_HF_TO_GGUF[rest]}.{parts[-1]}"


def unpermute_rotary(w: Any, n_head: int) -> Any:
    """Hugging Face's rotate-half q/k layout -> llama.cpp's interleaved one (numpy array)."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def export_f16(src: Path, out: Path) -> Path:
    """Write `src` (a Hugging Face Llama checkpoint) as an F16 GGUF file `out`."""
    try:
        import gguf
    except ImportError:
        raise EvalcliffError(
            "GGUF export needs the gguf extra: pip install 'evalcliff[gguf]'"
        ) from None
    import numpy as np
    from safetensors.numpy import load_file

    cfg = json.loads((src / "config.json").read_text())
    if cfg.get("model_type") != "llama":
        raise EvalcliffError(f"{src}: GGUF export supports Llama checkpoints only")
    tok = json.loads((src / "tokenizer.json").read_text())
    n_head = int(cfg["num_attention_heads"])
    n_kv = int(cfg.get("num_key_value_heads") or n_head)
    hidden = int(cfg["hidden_size"])
    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_name("evalcliff-embedded")
    writer.add_context_length(int(cfg["max_position_embeddings"]))
    writer.add_embedding_length(hidden)
    writer.add_block_count(int(cfg["num_hidden_layers"]))
    writer.add_feed_forward_length(int(cfg["intermediate_size"]))
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(hidden // n_head)
    writer.add_rope_freq_base(float(cfg.get("rope_theta") or 10000.0))
    writer.add_layer_norm_rms_eps(float(cfg["rms_norm_eps"]))
    writer.add_vocab_size(int(cfg["vocab_size"]))
    writer.add_file_type(FTYPES["F16"])

    vocab: dict[str, int] = dict(tok["model"]["vocab"])
    for added in tok.get("added_tokens", []):
        vocab[added["content"]] = int(added["id"])
    specials = {a["id"] for a in tok.get("added_tokens", []) if a.get("special")}
    by_id = {i: t for t, i in vocab.items()}
    n_vocab = int(cfg["vocab_size"])
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(n_vocab)]
    types = [
        gguf.TokenType.CONTROL
        if i in specials
        else gguf.TokenType.NORMAL
        if i in by_id
        else gguf.TokenType.UNUSED
        for i in range(n_vocab)
    ]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"].get("merges", [])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    eos = int(cfg.get("eos_token_id") or 0)
    writer.add_bos_token_id(int(cfg.get("bos_token_id") or eos))
    writer.add_eos_token_id(eos)
    writer.add_pad_token_id(int(cfg.get("pad_token_id") or eos))
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)

    weights = load_file(str(src / "model.safetensors"))
    for name in sorted(weights):
        w = weights[name].astype(np.float32)
        if name.endswith("self_attn.q_proj.weight"):
            w = unpermute_rotary(w, n_head)
        elif name.endswith("self_attn.k_proj.weight"):
            w = unpermute_rotary(w, n_kv)
        w = w.astype(np.float16) if w.ndim == 2 else w  # norms stay F32, as llama.cpp's converter
        writer.add_tensor(gguf_tensor_name(name), np.ascontiguousarray(w))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def quantize(f16: Path, out: Path, quant: str, threads: int = 0) -> Path:
    """`llama_model_quantize(f16 -> out)` to `quant` (a name in FTYPES), as llama-quantize."""
    if quant not in FTYPES:
        raise EvalcliffError(f"gguf_quant {quant!r}: unknown; known: {sorted(FTYPES)}")
    try:
        import llama_cpp
    except ImportError:
        raise EvalcliffError(
            "GGUF quantization needs llama.cpp: pip install 'evalcliff[gguf]'"
        ) from None
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[quant]
    params.nthread = threads
    rc = llama_cpp.llama_model_quantize(str(f16).encode(), str(out).encode(), params)
    if rc != 0 or not out.exists():
        raise EvalcliffError(f"llama_model_quantize {f16} -> {quant} failed (code {rc})")
    return out


def embedded_gguf(quant: str = "F16", src: Path | None = None) -> Path:
    """The embedded model (or `src`) as a GGUF file of type `quant`, built once and cached."""
    from evalcliff.embedded import MODEL_DIR
    from evalcliff.embedded.variants import source_weights_hash

    if quant not in FTYPES:
        raise EvalcliffError(f"gguf_quant {quant!r}: unknown; known: {sorted(FTYPES)}")
    src = src or MODEL_DIR
    folder = cache_dir() / "gguf" / f"{source_weights_hash(src)[:16]}-v{EXPORTER_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"model-{quant}.gguf"
    if target.exists():
        return target
    f16 = folder / "model-F16.gguf"
    if not f16.exists():
        _atomic(f16, lambda tmp: export_f16(src, tmp))
    if quant != "F16":
        _atomic(target, lambda tmp: quantize(f16, tmp, quant))
    return target


def _atomic(target: Path, build: Any) -> None:
    fd, name = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    os.close(fd)
    tmp = Path(name)
    try:
        build(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quant", default="F16", choices=sorted(FTYPES))
    args = ap.parse_args(argv)
    print(embedded_gguf(args.quant))


if __name__ == "__main__":
    main()
