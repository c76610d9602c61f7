"""RTN quantization (evalcliff.embedded.quantize) and cached variants (.variants)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from evalcliff.embedded.quantize import LINEAR_KINDS, quantize_state_dict, rtn_quantize
from evalcliff.embedded.variants import (
    BUILTIN_VARIANTS,
    QuantSpec,
    materialize_variant,
    read_variant_record,
    source_weights_hash,
)
from evalcliff.errors import EvalcliffError

HIDDEN, LAYERS, INTERMEDIATE, VOCAB = 64, 2, 256, 300


def _randn(out: int, inp: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(out, inp, generator=torch.Generator().manual_seed(seed))


def _group_scales(w: torch.Tensor, bits: int, group: int, symmetric: bool) -> torch.Tensor:
    g = w.reshape(w.shape[0], -1, group)
    if symmetric:
        return g.abs().amax(-1) / (2 ** (bits - 1) - 1)
    return (g.amax(-1) - g.amin(-1)) / (2**bits - 1)


# --- rtn_quantize -------------------------------------------------------------------------


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_at_most_2_pow_bits_levels_per_group(bits: int, symmetric: bool) -> None:
    w = _randn(8, 256, seed=bits)
    q = rtn_quantize(w, bits, 128, symmetric).reshape(8, 2, 128)
    assert q.dtype == torch.float32
    for row in range(8):
        for grp in range(2):
            assert q[row, grp].unique().numel() <= 2**bits


@pytest.mark.parametrize("symmetric", [True, False])
def test_error_shrinks_monotonically_with_bits(symmetric: bool) -> None:
    w = _randn(64, 256, seed=1)
    errs = [float((rtn_quantize(w, b, 64, symmetric) - w).norm()) for b in (8, 4, 3, 2)]
    assert errs == sorted(errs) and len(set(errs)) == 4, errs


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize(("bits", "group"), [(2, 32), (3, 128), (4, 64), (8, 128)])
def test_max_abs_error_at_most_half_scale_per_group(bits: int, group: int, symmetric: bool) -> None:
    w = _randn(16, 256, seed=2)
    q = rtn_quantize(w, bits, group, symmetric)
    err = (q - w).abs().reshape(16, -1, group).amax(-1)
    half_scale = _group_scales(w, bits, group, symmetric) / 2
    assert bool((err <= half_scale * (1 + 1e-5) + 1e-7).all())


@pytest.mark.parametrize("symmetric", [True, False])
def test_weights_on_the_grid_are_exact(symmetric: bool) -> None:
    # Power-of-two scales make level*scale and range/levels exact in float32.
    bits, group = 4, 16
    gen = torch.Generator().manual_seed(3)
    if symmetric:
        levels = torch.randint(-7, 8, (6, 4, group), generator=gen).float()
        levels[..., 0], levels[..., 1] = 7, -7  # every group reaches +-qmax
    else:
        levels = torch.randint(0, 16, (6, 4, group), generator=gen).float()
        levels[..., 0], levels[..., 1] = 0, 15  # every group spans the full range
        levels = levels - torch.randint(0, 16, (6, 4, 1), generator=gen).float()  # zero point
    scales = 2.0 ** -torch.randint(2, 9, (6, 4, 1), generator=gen).float()
    w = (levels * scales).reshape(6, 4 * group)
    assert torch.equal(rtn_quantize(w, bits, group, symmetric), w)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_quantizing_twice_equals_once(bits: int, symmetric: bool) -> None:
    w = _randn(32, 128, seed=4).half()
    once = rtn_quantize(w, bits, 32, symmetric)
    twice = rtn_quantize(once, bits, 32, symmetric)
    # Re-derived scales may differ from the first pass by an ulp; levels must not change.
    torch.testing.assert_close(twice, once, rtol=1e-6, atol=1e-7)


def test_per_row_and_oversized_groups_agree() -> None:
    w = _randn(8, 64, seed=5)
    per_row = rtn_quantize(w, 4, -1, False)
    assert torch.equal(rtn_quantize(w, 4, 64, False), per_row)
    assert torch.equal(rtn_quantize(w, 4, 128, False), per_row)  # wider than the row


def test_constant_and_zero_groups_are_exact() -> None:
    w = torch.zeros(4, 64)
    w[1] = 0.3
    w[2, :32] = -1.5
    for symmetric in (True, False):
        assert torch.equal(rtn_quantize(w, 2, 32, symmetric), w)


@pytest.mark.parametrize(("in_features", "group"), [(64, 48), (96, 64), (256, 0)])
def test_group_size_not_dividing_in_features_raises(in_features: int, group: int) -> None:
    with pytest.raises(ValueError, match=f"{group}.*{in_features}"):
        rtn_quantize(torch.ones(4, in_features), 4, group, False)


def test_bad_bits_and_shapes_raise() -> None:
    for bits in (1, 9):
        with pytest.raises(ValueError, match="bits"):
            rtn_quantize(torch.ones(4, 64), bits, 32, True)
    with pytest.raises(ValueError, match="2-D"):
        rtn_quantize(torch.ones(64), 4, 32, True)
    with pytest.raises(ValueError, match="non-finite"):
        rtn_quantize(torch.full((4, 64), float("nan")), 4, 32, True)


# --- QuantSpec ------------------------------------------------------------------------------


def test_spec_validation() -> None:
    with pytest.raises(ValueError):
        QuantSpec(bits=1)
    with pytest.raises(ValueError):
        QuantSpec(bits=4, group_size=0)
    with pytest.raises(ValueError):
        QuantSpec.model_validate({"bits": 4, "groupsize": 64})  # unknown keys are errors
    assert BUILTIN_VARIANTS["q2"] == QuantSpec(bits=2, group_size=32, symmetric=False)
    assert BUILTIN_VARIANTS["q8"].symmetric and BUILTIN_VARIANTS["bf16"].dtype == "bfloat16"


def test_variants_module_does_not_import_torch() -> None:
    code = "import sys, evalcliff.embedded.variants; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- quantize_state_dict ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny Llama saved in fp16 by transformers, plus a stand-in tokenizer file."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        intermediate_size=INTERMEDIATE,
        vocab_size=VOCAB,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=False,
    )
    out = tmp_path_factory.mktemp("tiny") / "model"
    LlamaForCausalLM(cfg).to(torch.float16).save_pretrained(out)
    (out / "tokenizer.json").write_text('{"stand-in": true}\n')
    return out


def test_state_dict_quantizes_exactly_the_block_linears(tiny_model_dir: Path) -> None:
    sd = load_file(tiny_model_dir / "model.safetensors")
    new, report = quantize_state_dict(sd, QuantSpec(bits=4, group_size=32))
    assert new.keys() == sd.keys()
    assert all(t.dtype == torch.float32 for t in new.values())
    for layer in range(LAYERS):
        for kind in LINEAR_KINDS:
            sub = "self_attn" if kind in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp"
            name = f"model.layers.{layer}.{sub}.{kind}.weight"
            assert not torch.equal(new[name], sd[name].float()), name
    untouched = [n for n in sd if "embed_tokens" in n or "lm_head" in n or "norm" in n]
    assert len(untouched) == 2 + 2 * LAYERS + 1
    for name in untouched:
        assert torch.equal(new[name], sd[name].float()), name
    assert report.n_quantized == 7 * LAYERS and report.n_untouched == len(untouched)
    quantized = {t.name: t.rel_error for t in report.tensors if t.quantized}
    assert len(quantized) == 7 * LAYERS and all(0 < e < 0.2 for e in quantized.values())


def test_state_dict_without_bits_only_rounds_storage_dtype(tiny_model_dir: Path) -> None:
    sd = load_file(tiny_model_dir / "model.safetensors")
    fp16, rep16 = quantize_state_dict(sd, BUILTIN_VARIANTS["fp16"])
    assert rep16.n_quantized == 0 and all(t.rel_error == 0 for t in rep16.tensors)
    assert all(torch.equal(fp16[n], sd[n].float()) for n in sd)
    bf16, _ = quantize_state_dict(sd, BUILTIN_VARIANTS["bf16"])
    for n in sd:
        assert torch.equal(bf16[n], sd[n].to(torch.bfloat16).float()), n


def test_state_dict_reports_the_tensor_that_cannot_be_grouped(tiny_model_dir: Path) -> None:
    sd = load_file(tiny_model_dir / "model.safetensors")
    with pytest.raises(
        ValueError, match=r"'model\.layers\.0\.\w+\.\w+_proj\.weight'.*48.*(64|256)"
    ):
        quantize_state_dict(sd, QuantSpec(bits=4, group_size=48))


# --- materialize_variant ---------------------------------------------------------------------


def test_materialize_builds_complete_dir_and_caches(tiny_model_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    q4 = materialize_variant(tiny_model_dir, BUILTIN_VARIANTS["q4"], cache)
    assert q4.parent == cache and len(q4.name) == 64
    assert {p.name for p in q4.iterdir()} == {
        "model.safetensors",
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "variant.json",
    }
    assert (q4 / "tokenizer.json").read_bytes() == (tiny_model_dir / "tokenizer.json").read_bytes()
    assert json.loads((q4 / "config.json").read_text())["torch_dtype"] == "float32"
    record = read_variant_record(q4)
    assert record.content_hash == q4.name
    assert record.source_weights_sha256 == source_weights_hash(tiny_model_dir)
    assert record.spec == BUILTIN_VARIANTS["q4"] and record.report.n_quantized == 7 * LAYERS
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp")]

    mtimes = {p.name: p.stat().st_mtime_ns for p in q4.iterdir()}
    again = materialize_variant(tiny_model_dir, QuantSpec(bits=4, group_size=128), cache)
    assert again == q4
    assert {p.name: p.stat().st_mtime_ns for p in q4.iterdir()} == mtimes

    q8 = materialize_variant(tiny_model_dir, BUILTIN_VARIANTS["q8"], cache)
    assert q8 != q4 and q8.parent == cache
    # Without bits, quantizer fields cannot change the weights, so they share one entry.
    fp16 = materialize_variant(tiny_model_dir, BUILTIN_VARIANTS["fp16"], cache)
    assert materialize_variant(tiny_model_dir, QuantSpec(group_size=64), cache) == fp16
    assert len({fp16, q4, q8}) == 3


def test_materialize_does_not_requantize_on_hit(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evalcliff.embedded.quantize as quantize_mod

    first = materialize_variant(tiny_model_dir, BUILTIN_VARIANTS["q3"], tmp_path)

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("quantized again on a cache hit")

    monkeypatch.setattr(quantize_mod, "quantize_state_dict", boom)
    assert materialize_variant(tiny_model_dir, BUILTIN_VARIANTS["q3"], tmp_path) == first


def test_materialize_rebuilds_when_source_changes(tiny_model_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for p in tiny_model_dir.iterdir():
        (src / p.name).write_bytes(p.read_bytes())
    before = materialize_variant(src, BUILTIN_VARIANTS["q2"], tmp_path / "cache")
    (src / "tokenizer.json").write_text('{"stand-in": 2}\n')
    after = materialize_variant(src, BUILTIN_VARIANTS["q2"], tmp_path / "cache")
    assert after != before and (after / "tokenizer.json").read_text() == '{"stand-in": 2}\n'
    os.remove(src / "model.safetensors")
    with pytest.raises(EvalcliffError, match="model.safetensors"):
        materialize_variant(src, BUILTIN_VARIANTS["q2"], tmp_path / "cache")


def test_variants_load_generate_and_order_by_bits(tiny_model_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    ids = torch.randint(3, VOCAB, (2, 12), generator=torch.Generator().manual_seed(6))
    ref_model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with torch.no_grad():
        ref = ref_model(ids).logits

    def logits_of(name: str) -> torch.Tensor:
        path = materialize_variant(tiny_model_dir, BUILTIN_VARIANTS[name], tmp_path)
        model = AutoModelForCausalLM.from_pretrained(path)
        assert next(model.parameters()).dtype == torch.float32
        with torch.no_grad():
            if name == "q2":
                gen = model.generate(ids[:1, :4], max_new_tokens=5, do_sample=False)
                assert gen.shape == (1, 9)
            return model(ids).logits

    diff = {n: float((logits_of(n) - ref).norm() / ref.norm()) for n in ("fp16", "q8", "q2")}
    assert diff["fp16"] == 0.0
    assert diff["q8"] < 0.02, diff
    assert diff["q2"] > 10 * diff["q8"], diff
