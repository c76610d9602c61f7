"""Builders of small synthetic per-item results tables for gate tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from evalcliff.schema import GenerationSettings, SliceManifest, SuiteManifest

RunFactory = Callable[..., pd.DataFrame]


def _make_run(
    slices: dict[str, int], p_correct: float = 0.7, seed: int = 0, cluster_size: int = 1
) -> pd.DataFrame:
    """A base run: `slices` maps slice name -> item count; binary scores."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, n in slices.items():
        for i in range(n):
            correct = bool(rng.random() < p_correct)
            rows.append(
                {
                    "item_id": f"{name}/{i:05d}",
                    "suite": "synthetic",
                    "slice": name,
                    "stratum": f"bucket={i % 2}",
                    "cluster_id": f"{name}/src{i // cluster_size}",
                    "prompt_hash": f"h-{name}-{i}",
                    "output": "x",
                    "target": "x",
                    "score": float(correct),
                    "correct": correct,
                    "catastrophic": False,
                    "error": None,
                    "latency_s": 0.01,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def make_run() -> RunFactory:
    return _make_run


def _degrade(run: pd.DataFrame, slice_name: str, fraction: float, seed: int = 1) -> pd.DataFrame:
    """A candidate that gets `fraction` of the slice's correct items wrong."""
    cand = run.copy()
    rng = np.random.default_rng(seed)
    hit = (cand["slice"] == slice_name) & cand["correct"] & (rng.random(len(cand)) < fraction)
    cand.loc[hit, ["score", "correct"]] = [0.0, False]
    return cand


@pytest.fixture
def degrade() -> RunFactory:
    return _degrade


def _make_suite(slices: dict[str, dict[str, Any]]) -> SuiteManifest:
    """A suite manifest whose slices set the given fields (margin, weight,
    max_catastrophic_increase); a slice's weight defaults to 1."""
    return SuiteManifest(
        name="synthetic",
        version=1,
        seed=0,
        content_hash="0" * 16,
        n_items=0,
        slices={
            name: SliceManifest(
                kind="generator",
                source="synthetic",
                scorer="exact",
                generation=GenerationSettings(),
                weight=fields.pop("weight", 1.0),
                n=0,
                items_hash="0" * 16,
                **fields,
            )
            for name, fields in ((k, dict(v)) for k, v in slices.items())
        },
    )


@pytest.fixture
def make_suite() -> Callable[..., SuiteManifest]:
    return _make_suite
