"""paired_bootstrap and weighted_bootstrap: exactness, determinism, clustering."""

from __future__ import annotations

import numpy as np
import pytest

from evalcliff.stats import BootstrapResult, paired_bootstrap, weighted_bootstrap


def test_all_zero_diffs_give_exact_zero() -> None:
    res = paired_bootstrap(np.zeros(50), None, 500, 0.95, seed=0)
    assert (res.mean, res.ci_low, res.ci_high) == (0.0, 0.0, 0.0)
    assert isinstance(res.mean, float)
    assert np.all(res.replicates == 0.0)


@pytest.mark.parametrize("d", [0.1, -0.3, 1.0])
def test_constant_diffs_give_exact_ci(d: float) -> None:
    clusters = np.repeat(np.arange(10), 3)
    for cl in (None, clusters):
        res = paired_bootstrap(np.full(30, d), cl, 300, 0.9, seed=1)
        assert (res.mean, res.ci_low, res.ci_high) == (d, d, d)


def test_mean_is_plain_mean_and_ci_brackets_it() -> None:
    rng = np.random.default_rng(3)
    diffs = rng.choice([-1.0, 0.0, 1.0], size=300, p=[0.1, 0.8, 0.1])
    res = paired_bootstrap(diffs, None, 2000, 0.95, seed=0)
    assert res.mean == pytest.approx(diffs.mean(), abs=1e-15)
    assert res.ci_low < res.mean < res.ci_high
    se = diffs.std() / np.sqrt(len(diffs))
    assert res.ci_high - res.ci_low == pytest.approx(2 * 1.96 * se, rel=0.1)
    assert res.replicates.shape == (2000,)


def test_deterministic_for_seed_and_generator_advances() -> None:
    diffs = np.random.default_rng(0).normal(size=100)
    a = paired_bootstrap(diffs, None, 500, 0.95, seed=7)
    b = paired_bootstrap(diffs, None, 500, 0.95, seed=7)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    gen = np.random.default_rng(7)
    c = paired_bootstrap(diffs, None, 500, 0.95, seed=gen)
    d = paired_bootstrap(diffs, None, 500, 0.95, seed=gen)
    assert np.array_equal(c.replicates, a.replicates)
    assert not np.array_equal(c.replicates, d.replicates)


def test_singleton_clusters_equal_plain_bootstrap() -> None:
    diffs = np.random.default_rng(1).normal(size=80)
    labels = np.array([f"c{i}" for i in range(80)])
    a = paired_bootstrap(diffs, None, 400, 0.95, seed=2)
    b = paired_bootstrap(diffs, labels, 400, 0.95, seed=2)
    assert np.array_equal(a.replicates, b.replicates)


def test_cluster_bootstrap_widens_with_within_cluster_correlation() -> None:
    rng = np.random.default_rng(5)
    n_clusters, size = 60, 5
    labels = np.repeat([f"src{i}" for i in range(n_clusters)], size)
    widths = []
    for rho in (0.0, 0.5, 0.9):
        shared = np.repeat(rng.normal(size=n_clusters), size)
        diffs = np.sqrt(rho) * shared + np.sqrt(1 - rho) * rng.normal(size=n_clusters * size)
        res = paired_bootstrap(diffs, labels, 2000, 0.95, seed=0)
        widths.append(res.ci_high - res.ci_low)
    assert widths[0] < widths[1] < widths[2]
    # At rho=0.9 the design effect is ~1 + (5-1)*0.9 = 4.6, so the CI is ~2x wider.
    assert widths[2] / widths[0] > 1.6


def test_cluster_replicates_are_ratio_of_sums() -> None:
    # Two clusters of unequal size: every replicate is one of the 3 distinct ratios.
    diffs = np.array([1.0, 1.0, 1.0, 0.0])
    labels = np.array(["a", "a", "a", "b"])
    res = paired_bootstrap(diffs, labels, 1000, 0.95, seed=0)
    assert set(np.round(res.replicates, 12)) <= {1.0, 0.0, 0.75}
    assert res.mean == 0.75


def test_chunking_keeps_memory_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import evalcliff.stats.resample as mod

    monkeypatch.setattr(mod, "_CHUNK_BYTES", 8 * 100 * 7)  # 7 resamples per chunk
    diffs = np.random.default_rng(0).normal(size=100)
    res = paired_bootstrap(diffs, None, 1000, 0.95, seed=0)
    assert res.replicates.shape == (1000,)
    assert np.all(np.isfinite(res.replicates))
    assert res.ci_low < diffs.mean() < res.ci_high


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError):
        paired_bootstrap(np.array([]), None, 100, 0.95, seed=0)
    with pytest.raises(ValueError):
        paired_bootstrap(np.array([0.1, np.nan]), None, 100, 0.95, seed=0)
    with pytest.raises(ValueError):
        paired_bootstrap(np.ones(3), None, 100, 1.5, seed=0)
    with pytest.raises(ValueError):
        paired_bootstrap(np.ones(3), np.array(["a"]), 100, 0.95, seed=0)


def _const(d: float, n: int = 100) -> BootstrapResult:
    return BootstrapResult(d, d, d, np.full(n, d))


def test_weighted_bootstrap_normalises_weights() -> None:
    res = weighted_bootstrap([_const(0.1), _const(-0.2)], [3.0, 1.0], 0.95)
    assert res.mean == pytest.approx(0.75 * 0.1 + 0.25 * -0.2)
    assert res.ci_low == res.mean == res.ci_high


def test_weighted_bootstrap_all_zero_is_exact_and_zero_weight_is_ignored() -> None:
    zero = weighted_bootstrap([_const(0.0), _const(0.0)], [0.85, 0.15], 0.95)
    assert (zero.mean, zero.ci_low, zero.ci_high) == (0.0, 0.0, 0.0)
    one = weighted_bootstrap([_const(0.3), _const(-0.9)], [1.0, 0.0], 0.95)
    assert (one.mean, one.ci_low, one.ci_high) == (0.3, 0.3, 0.3)


def test_weighted_bootstrap_ci_is_narrower_than_mixing_extremes() -> None:
    rng = np.random.default_rng(0)
    parts = [
        paired_bootstrap(rng.normal(m, 1, 200), None, 2000, 0.95, seed=i)
        for i, m in enumerate((0.0, -0.5))
    ]
    res = weighted_bootstrap(parts, [0.5, 0.5], 0.95)
    assert res.mean == pytest.approx(0.5 * parts[0].mean + 0.5 * parts[1].mean)
    assert res.ci_low < res.mean < res.ci_high
    # Independent slices: the mix's variance is w1^2 v1 + w2^2 v2.
    expected_sd = 0.5 * np.hypot(parts[0].replicates.std(), parts[1].replicates.std())
    assert res.replicates.std() == pytest.approx(expected_sd, rel=0.1)


def test_weighted_bootstrap_rejects_bad_weights() -> None:
    with pytest.raises(ValueError):
        weighted_bootstrap([_const(0.0)], [0.0], 0.95)
    with pytest.raises(ValueError):
        weighted_bootstrap([_const(0.0), _const(0.0, 50)], [1.0, 1.0], 0.95)
    with pytest.raises(ValueError):
        weighted_bootstrap([_const(0.0)], [1.0, 1.0], 0.95)


def test_threads_do_not_change_the_result() -> None:
    diffs = np.random.default_rng(2).normal(size=3000)  # distinct: the integer-draw path
    a = paired_bootstrap(diffs, None, 3000, 0.95, seed=3, threads=1)
    b = paired_bootstrap(diffs, None, 3000, 0.95, seed=3, threads=2)
    assert np.array_equal(a.replicates, b.replicates)
    with pytest.raises(ValueError):
        paired_bootstrap(diffs, None, 100, 0.95, seed=0, threads=0)
