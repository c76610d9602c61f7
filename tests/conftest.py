"""Shared fixtures: an isolated cache dir and a small suite for runner/CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

MINI_SUITE = """\
name: mini
version: 1
seed: 11
slices:
  head:
    generator: head
    scorer: exact
    weight: 0.8
    margin: 0.02
    generation: {max_gen_toks: 12, until: ["\\n"]}
    strata: {task: [succ, copy]}
    items_per_stratum: 4
  long_context:
    generator: kv_retrieval
    scorer: exact
    weight: 0.05
    margin: 0.05
    generation: {max_gen_toks: 6, until: ["\\n"]}
    strata: {len: [64], depth: [0.5]}
    items_per_stratum: 4
  low_resource:
    generator: native_digits
    scorer: script
    weight: 0.05
    margin: 0.05
    generation: {max_gen_toks: 12, until: ["\\n"]}
    strata: {lang: [hi, km]}
    items_per_stratum: 3
  multihop_arith:
    generator: chained_arith
    scorer: numeric
    weight: 0.05
    margin: 0.05
    generation: {max_gen_toks: 28, until: ["\\n"]}
    strata: {hops: [1, 4]}
    items_per_stratum: 3
  code:
    generator: arith_function
    scorer: code
    weight: 0.05
    margin: 0.05
    generation: {max_gen_toks: 24, until: ["\\n"]}
    strata: {ops: [1, 2]}
    items_per_stratum: 3
"""


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALCLIFF_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def mini_suite(tmp_path: Path) -> Path:
    p = tmp_path / "mini.yaml"
    p.write_text(MINI_SUITE)
    return p


@pytest.fixture
def mock_config(tmp_path: Path) -> Path:
    p = tmp_path / "variants.toml"
    p.write_text(
        '[variants.good]\nbackend = "mock"\nerror_rate = 0.0\n\n'
        '[variants.bad]\nbackend = "mock"\nerror_rate = 0.6\nseed = 3\n'
    )
    return p
