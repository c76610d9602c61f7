"""Exact McNemar and Holm step-down, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from evalcliff.stats import holm, mcnemar_exact


def test_mcnemar_exact_hand_value() -> None:
    # b=10, c=2, n=12: P(X <= 2) = (1 + 12 + 66) / 4096; two-sided doubles it.
    assert mcnemar_exact(10, 2) == pytest.approx(158 / 4096, abs=1e-15)
    assert mcnemar_exact(10, 2) == pytest.approx(binomtest(10, 12, 0.5).pvalue)


def test_mcnemar_symmetric_and_edge_cases() -> None:
    assert mcnemar_exact(2, 10) == mcnemar_exact(10, 2)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 1) == 1.0
    assert mcnemar_exact(6, 0) == pytest.approx(2 / 64)
    assert isinstance(mcnemar_exact(3, 1), float)
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def test_holm_known_vector() -> None:
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> monotone .06
    adj = holm([0.01, 0.04, 0.03, 0.005])
    assert adj == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_stays_monotone() -> None:
    adj = holm([0.5, 0.6, 0.01])
    assert adj == pytest.approx([1.0, 1.0, 0.03])
    p = np.random.default_rng(0).uniform(size=20)
    adj = holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0)
    assert np.all(adj >= p) and np.all(adj <= 1.0)


def test_holm_edge_cases() -> None:
    assert holm([]).shape == (0,)
    assert holm([0.2]) == pytest.approx([0.2])
    with pytest.raises(ValueError):
        holm([0.1, 1.2])
