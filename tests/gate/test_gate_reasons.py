"""Formatting of the human reasons (points, true minus signs)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.gate import Policy, compare_runs
from evalcliff.gate.reasons import pts
from evalcliff.schema import SuiteManifest


def test_points_formatting() -> None:
    assert pts(-0.073) == "−7.3"
    assert pts(0.05) == "+5.0"
    assert pts(0.0) == "0.0"
    assert pts(-0.0004) == "0.0"  # no "−0.0"
    assert pts(0.123, signed=False) == "12.3"


def test_single_slice_go_reason_and_bad_suite_default(
    make_suite: Callable[..., SuiteManifest],
) -> None:
    base = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "slice": ["head", "head"],
            "prompt_hash": ["1", "2"],
            "score": [1.0, 0.0],
            "correct": [True, False],
            "catastrophic": [False, False],
        }
    )
    out = compare_runs(base, base, Policy(n_resamples=100))
    assert out.reasons[0].startswith("the only slice, head, passes")
    suite = make_suite({"head": {"margin": 1.5}})
    with pytest.raises(EvalcliffError, match="slice 'head': margin must be a number in"):
        compare_runs(base, base, Policy(n_resamples=100), suite)
