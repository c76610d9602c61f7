"""The fast resampler: both paths draw from the exact bootstrap distribution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp

import evalcliff.stats.resample as mod
from evalcliff.stats.resample import jackknife_means, make_units, resample_means


def _both_paths(
    monkeypatch: pytest.MonkeyPatch, diffs: np.ndarray, clusters: np.ndarray | None, b: int
) -> tuple[np.ndarray, np.ndarray]:
    units = make_units(diffs, clusters)
    monkeypatch.setattr(mod, "_BINOMIAL_COST", 0.0)  # always by counts
    by_counts = resample_means(units, b, np.random.default_rng(1))
    monkeypatch.setattr(mod, "_BINOMIAL_COST", 1e12)  # always by indices
    by_indices = resample_means(units, b, np.random.default_rng(2))
    return by_counts, by_indices


def test_paths_agree_for_items(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    diffs = rng.choice([-1.0, 0.0, 1.0], size=200, p=[0.1, 0.8, 0.1])
    a, b = _both_paths(monkeypatch, diffs, None, 20_000)
    # Exact bootstrap moments: E = mean, Var = plug-in variance / n.
    for reps in (a, b):
        assert reps.mean() == pytest.approx(diffs.mean(), abs=4 * diffs.std() / 200 / 10)
        assert reps.var() == pytest.approx(diffs.var() / 200, rel=0.05)
    assert ks_2samp(a, b).pvalue > 1e-3


def test_paths_agree_for_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    sizes = rng.integers(1, 6, size=60)
    labels = np.repeat(np.arange(60), sizes)
    diffs = rng.choice([-1.0, 0.0, 1.0], size=len(labels), p=[0.2, 0.6, 0.2])
    a, b = _both_paths(monkeypatch, diffs, labels, 20_000)
    assert ks_2samp(a, b).pvalue > 1e-3
    assert a.mean() == pytest.approx(b.mean(), abs=0.01)
    assert a.std() == pytest.approx(b.std(), rel=0.05)


def test_counts_path_is_chosen_for_binary_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(mod, "_by_indices", lambda *a: calls.append("indices"))
    diffs = np.random.default_rng(0).choice([-1.0, 0.0, 1.0], size=5000)
    resample_means(make_units(diffs, None), 100, np.random.default_rng(0))
    assert calls == []


def test_deterministic_for_a_seed() -> None:
    diffs = np.random.default_rng(0).normal(size=300)
    units = make_units(diffs, np.arange(300) // 3)
    a = resample_means(units, 500, np.random.default_rng(5))
    b = resample_means(units, 500, np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_jackknife_leaves_one_cluster_out() -> None:
    diffs = np.array([1.0, 1.0, 0.0, -1.0])
    units = make_units(diffs, np.array(["a", "a", "b", "c"]))
    # Leaving out a: (0 - 1) / 2; b: (2 - 1) / 3; c: 2 / 3.
    assert np.allclose(jackknife_means(units), [-0.5, 1 / 3, 2 / 3])
    with pytest.raises(ValueError):
        jackknife_means(make_units(np.array([1.0]), None))
