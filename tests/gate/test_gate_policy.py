"""load_policy: YAML in, validated Policy out, one-line errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy, load_policy


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def test_none_is_the_builtin_default() -> None:
    policy = load_policy(None)
    assert policy == Policy()
    assert (policy.confidence, policy.margin, policy.inconclusive) == (0.95, 0.02, "inconclusive")
    assert policy.max_catastrophic_increase == 0.05
    assert (policy.max_error_rate, policy.min_base_score, policy.uninformative) == (
        0.02,
        0.05,
        "inconclusive",
    )
    assert (policy.n_resamples, policy.seed, policy.slices) == (10000, 0, {})


def test_design_example_loads(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
confidence: 0.95
margin: 0.02
inconclusive: inconclusive
slices:
  head:         {margin: 0.01, weight: 0.85}
  long_context: {margin: 0.05, weight: 0.05, max_catastrophic_increase: 0.02}
""",
    )
    policy = load_policy(str(path))
    assert policy.slices["head"].margin == 0.01
    assert policy.slices["long_context"].max_catastrophic_increase == 0.02
    assert policy.slices["head"].max_catastrophic_increase is None


def test_empty_file_is_the_default(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, ""))
    assert policy.model_dump() == Policy().model_dump()
    assert policy.source == str(tmp_path / "policy.yaml")


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(EvalcliffError) as exc:
        load_policy(_write(tmp_path, "margn: 0.03\n"))
    msg = str(exc.value)
    assert "policy.yaml" in msg and "margn" in msg and "unknown key" in msg
    assert "\n" not in msg


def test_unknown_slice_key_is_named_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(EvalcliffError) as exc:
        load_policy(_write(tmp_path, "slices:\n  head: {margin: 0.01, wieght: 0.5}\n"))
    msg = str(exc.value)
    assert "slices.head.wieght" in msg and "allowed: margin, weight" in msg


def test_bad_value_names_the_field_path(tmp_path: Path) -> None:
    with pytest.raises(EvalcliffError) as exc:
        load_policy(_write(tmp_path, "slices:\n  head: {margin: lots}\n"))
    msg = str(exc.value)
    assert msg.startswith(str(tmp_path / "policy.yaml") + ": slices.head.margin: ")
    assert "valid number" in msg and "'lots'" in msg and "\n" not in msg


@pytest.mark.parametrize(
    "text, field",
    [
        ("confidence: 1.5\n", "confidence"),
        ("margin: -0.01\n", "margin"),
        ("inconclusive: maybe\n", "inconclusive"),
        ("n_resamples: 10\n", "n_resamples"),
        ("slices: {tail: {weight: -1}}\n", "slices.tail.weight"),
    ],
)
def test_out_of_range_values_are_rejected(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(EvalcliffError, match=f": {field}: "):
        load_policy(_write(tmp_path, text))


def test_missing_file_bad_yaml_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(EvalcliffError, match="policy file not found"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(EvalcliffError, match=r"policy.yaml: line 2: ") as exc:
        load_policy(_write(tmp_path, "margin: [0.02\n"))
    assert "\n" not in str(exc.value)
    with pytest.raises(EvalcliffError, match="must be a mapping"):
        load_policy(_write(tmp_path, "- 0.02\n"))


def test_explicit_null_limit_is_recorded_as_set(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, "slices:\n  code: {max_catastrophic_increase: null}\n"))
    assert "max_catastrophic_increase" in policy.slices["code"].model_fields_set
