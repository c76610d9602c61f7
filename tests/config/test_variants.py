from pathlib import Path

import pytest

from evalcliff.config.variants import load_variants, resolve_variant
from evalcliff.errors import EvalcliffError


def test_builtins_resolve_to_embedded_quantized_variants() -> None:
    q4 = resolve_variant("q4")
    assert q4.backend == "hf" and q4.model == "embedded"
    assert q4.quantization is not None and q4.quantization.bits == 4
    fp16 = resolve_variant("fp16")
    assert fp16.quantization is not None and fp16.quantization.bits is None


def test_config_file_toml_and_yaml(tmp_path: Path) -> None:
    t = tmp_path / "v.toml"
    t.write_text('[variants.x]\nbackend = "hf"\nquantization = {bits = 3, group_size = 32}\n')
    assert load_variants(t)["x"].quantization.group_size == 32  # type: ignore[union-attr]
    y = tmp_path / "v.yaml"
    y.write_text("variants:\n  y: {backend: mock, error_rate: 0.1}\n")
    assert resolve_variant("y", y).error_rate == 0.1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[variants.x]\nbackend = "hf"\ntemprature = 0.1\n', r"variants.x.temprature"),
        ('[variants.x]\nbackend = "tgi"\n', r"variants.x.backend"),
        ("[variants.x]\nquantization = {bits = 9}\n", r"variants.x.quantization.bits"),
        ('[models.x]\nbackend = "hf"\n', "top-level table 'variants'"),
        ("[variants.x\n", "cannot parse"),
    ],
)
def test_bad_config_is_one_actionable_line(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "v.toml"
    p.write_text(text)
    with pytest.raises(EvalcliffError, match=match):
        load_variants(p)


def test_unknown_variant_lists_builtins() -> None:
    with pytest.raises(EvalcliffError, match="not built in"):
        resolve_variant("q5")
