"""Weight-only round-to-nearest (RTN) quantization, simulated in float32.

Quantize-then-dequantize: every transformer-block linear weight is replaced by the value a
b-bit RTN kernel would reconstruct from its integer levels and per-group scales, so the
variant runs on any backend as ordinary float32 weights while carrying the quantization
error. Pure torch; no I/O. Changing the numerics here must bump
`evalcliff.embedded.variants.QUANTIZER_VERSION` so cached variants are rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from evalcliff.embedded.variants import QuantReport, TensorReport
from evalcliff.schema.variant import Quantization

# The torch.nn.Linear modules of a Llama-style block; their `.weight` is what RTN quantizes.
LINEAR_KINDS: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)
_BLOCK_PREFIX = "model.layers."

_STORAGE_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
}


def rtn_quantize(w: torch.Tensor, bits: int, group_size: int, symmetric: bool) -> torch.Tensor:
    """Return the RTN quantize-dequantize of a 2-D linear weight `w` [out, in], in float32.

    Groups are `group_size` consecutive input columns of one output row; `group_size=-1`, or
    any `group_size >= in_features`, means one group per row. Otherwise `group_size` must
    divide `in_features` (ValueError naming both sizes).

    - symmetric: scale = absmax / qmax with qmax = 2**(bits-1) - 1,
      q = clamp(round(w / scale), -2**(bits-1), qmax), w' = q * scale.
    - asymmetric: scale = (max - min) / (2**bits - 1), zero = round(-min / scale),
      q = clamp(round(w / scale) + zero, 0, 2**bits - 1), w' = (q - zero) * scale.

    Each group takes at most 2**bits distinct values and |w' - w| <= scale / 2 (up to float32
    rounding). A constant group is reproduced exactly; an all-zero group stays zero. Raises
    ValueError for bits outside 2..8, a tensor that is not 2-D, or non-finite values.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an integer in 2..8, got {bits!r}")
    if w.ndim != 2:
        raise ValueError(f"rtn_quantize expects a 2-D [out, in] weight, got shape {tuple(w.shape)}")
    out_features, in_features = w.shape
    if group_size == -1 or group_size >= in_features:
        group = in_features
    elif group_size <= 0 or in_features % group_size != 0:
        raise ValueError(
            f"group_size {group_size} does not divide in_features {in_features} "
            f"(weight shape {tuple(w.shape)}); use a divisor of {in_features} or -1 for per-row"
        )
    else:
        group = group_size

    x = w.detach().to(torch.float32).reshape(out_features, in_features // group, group)
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"weight of shape {tuple(w.shape)} has non-finite values")
    tiny = torch.finfo(torch.float32).tiny

    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        absmax = x.abs().amax(dim=-1, keepdim=True)
        # An all-zero group gets scale 1 (any scale reproduces zeros); tiny clamps underflow.
        scale = torch.where(absmax > 0, absmax / qmax, torch.ones_like(absmax)).clamp_min(tiny)
        q = torch.clamp(torch.round(x / scale), -(2 ** (bits - 1)), qmax)
        deq = q * scale
    else:
        levels = 2**bits - 1
        lo = x.amin(dim=-1, keepdim=True)
        hi = x.amax(dim=-1, keepdim=True)
        spread = hi - lo
        degenerate = spread == 0
        scale = torch.where(degenerate, torch.ones_like(spread), spread / levels).clamp_min(tiny)
        zero = torch.round(-lo / scale)
        q = torch.clamp(torch.round(x / scale) + zero, 0, levels)
        deq = (q - zero) * scale
        # A constant group is one level; store it exactly rather than via a made-up scale.
        deq = torch.where(degenerate, x, deq)
    return deq.reshape(out_features, in_features)


def relative_frobenius_error(new: torch.Tensor, ref: torch.Tensor) -> float:
    """Return ||new - ref||_F / ||ref||_F (computed in float64); 0.0 when both are zero."""
    diff = torch.linalg.vector_norm((new.to(torch.float64) - ref.to(torch.float64)).flatten())
    norm = torch.linalg.vector_norm(ref.to(torch.float64).flatten())
    if float(norm) == 0.0:
        return 0.0 if float(diff) == 0.0 else float("inf")
    return float(diff / norm)


def is_block_linear_weight(name: str) -> bool:
    """True for `model.layers.<i>.<...>.<kind>.weight` with kind in LINEAR_KINDS."""
    if not (name.startswith(_BLOCK_PREFIX) and name.endswith(".weight")):
        return False
    parts = name.split(".")
    return len(parts) >= 4 and parts[-2] in LINEAR_KINDS


def quantize_state_dict(
    state_dict: Mapping[str, torch.Tensor], spec: Quantization
) -> tuple[dict[str, torch.Tensor], QuantReport]:
    """Return (float32 state dict of the variant described by `spec`, report).

    Transformer-block linear weights (`model.layers.*.{q,k,v,o,gate,up,down}_proj.weight`)
    are RTN-quantized with `spec.bits`/`spec.group_size`/`spec.symmetric` when `spec.bits` is
    set. Every other floating tensor (embeddings, `lm_head`, norms, biases) is rounded to the
    storage dtype `spec.dtype` and back. All floating outputs are float32; non-floating tensors
    are passed through unchanged. The input is not modified. Raises ValueError naming the
    tensor if a weight cannot be quantized (e.g. `group_size` does not divide its width), or
    if a 2-D `.weight` inside a block is not a known linear kind.
    """
    storage = _STORAGE_DTYPES[spec.dtype]
    out: dict[str, torch.Tensor] = {}
    reports: list[TensorReport] = []
    for name, tensor in state_dict.items():
        if not tensor.is_floating_point():
            out[name] = tensor
            reports.append(
                TensorReport(name=name, shape=list(tensor.shape), quantized=False, rel_error=0.0)
            )
            continue
        bits = spec.bits
        block_matrix = name.startswith(_BLOCK_PREFIX) and name.endswith(".weight")
        block_matrix = block_matrix and tensor.ndim == 2
        if bits is not None and block_matrix and not is_block_linear_weight(name):
            # Refuse rather than silently leave an unknown block matrix in full precision.
            raise ValueError(
                f"unknown 2-D weight {name!r} in a transformer block; the RTN quantizer knows "
                f"Llama linears only ({', '.join(LINEAR_KINDS)})"
            )
        quantize = bits is not None and block_matrix
        if bits is not None and block_matrix:
            try:
                new = rtn_quantize(tensor, bits, spec.group_size, spec.symmetric)
            except ValueError as exc:
                raise ValueError(f"cannot quantize {name!r}: {exc}") from exc
        else:
            new = tensor.detach().to(storage).to(torch.float32)
        out[name] = new.contiguous()
        reports.append(
            TensorReport(
                name=name,
                shape=list(tensor.shape),
                quantized=quantize,
                rel_error=relative_frobenius_error(new, tensor),
            )
        )
    errors = [r.rel_error for r in reports if r.quantized]
    report = QuantReport(
        n_quantized=len(errors),
        n_untouched=len(reports) - len(errors),
        mean_rel_error=sum(errors) / len(errors) if errors else 0.0,
        max_rel_error=max(errors) if errors else 0.0,
        tensors=reports,
    )
    return out, report
