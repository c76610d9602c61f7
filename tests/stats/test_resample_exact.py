"""The integer-draw path: exact indices, the exact bootstrap distribution, bounded rounding,
determinism whatever the thread count, and its edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chisquare, ks_2samp

import evalcliff.stats.resample as mod
from evalcliff.stats.resample import make_units, resample_means


class _Words:
    """A stand-in bit generator: `random_raw` hands out the given 64-bit words in order."""

    def __init__(self, words: np.ndarray) -> None:
        self.words = np.asarray(words, dtype=np.uint64)
        self.pos = 0

    def random_raw(self, n: int) -> np.ndarray:
        out = self.words[self.pos : self.pos + n].copy()
        assert len(out) == n, "the test gave too few words"
        self.pos += n
        return out


def _words16(values: list[int] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.uint16).view(np.uint64)


def _recorded_indices(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """Copies of every index block the resampler draws, in order (run it with threads=1)."""
    blocks: list[np.ndarray] = []
    draw = mod._uniform_indices

    def spy(bitgen: np.random.BitGenerator, k: int, out: np.ndarray) -> None:
        draw(bitgen, k, out)
        blocks.append(out.copy())

    monkeypatch.setattr(mod, "_uniform_indices", spy)
    return blocks


def _always_indices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mod, "_BINOMIAL_COST", 1e12)


def _plain_bootstrap(values: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """The textbook reference: rng.integers indices, float64 means."""
    rng = np.random.default_rng(seed)
    k = len(values)
    rows = max(1, 2**22 // k)
    out = [
        values[rng.integers(0, k, size=(min(rows, n_resamples - s), k))].mean(axis=1)
        for s in range(0, n_resamples, rows)
    ]
    return np.concatenate(out)


def test_word_mapping_is_exactly_uniform_and_rejects_are_redrawn() -> None:
    k = 5000
    q, limit = 2**16 // k, (2**16 // k) * k  # 13, 65000: words 65000..65535 are redrawn
    every = np.arange(2**16)
    n_bad = 2**16 - limit
    # Redraws: the first four are rejected again (65535), the rest map to index 7; then one
    # more word whose four values map to index 2.
    first = [65535] * 4 + [7 * q] * (n_bad - 4)
    words = np.concatenate([_words16(every), _words16(first), _words16([2 * q] * 4)])
    gen = _Words(words)
    out = np.empty(2**16, dtype=np.intp)
    mod._uniform_indices(gen, k, out)  # type: ignore[arg-type]
    assert gen.pos == len(words)
    ok = every < limit
    assert np.array_equal(out[ok], every[ok] // q)
    # Every index has exactly q of the accepted words: no modulo bias.
    assert np.array_equal(np.bincount(out[ok], minlength=k), np.full(k, q))
    assert np.array_equal(out[~ok][:4], [2] * 4)
    assert np.all(out[~ok][4:] == 7)


def test_32_bit_words_reach_both_ends() -> None:
    k = 2**16 + 1  # q = 65535, q * k = 2**32 - 1: only the top word is rejected
    assert mod._word_bits(k) == 32
    # Five draws take three words (the sixth value is unused); the rejected fifth is redrawn
    # from a fourth word.
    values = np.array([0, 65534, 65535, 2**32 - 2, 2**32 - 1, 0, 5 * 65535, 0], dtype=np.uint32)
    gen = _Words(values.view(np.uint64))
    out = np.empty(5, dtype=np.intp)
    mod._uniform_indices(gen, k, out)  # type: ignore[arg-type]
    assert list(out) == [0, 0, 1, k - 1, 5]


@pytest.mark.parametrize(
    ("k", "bits"), [(2, 16), (5000, 16), (2**16, 16), (40_000, 32), (2**16 + 1, 32), (2**33, 64)]
)
def test_word_width(k: int, bits: int) -> None:
    # 40,000 would reject 39% of 16-bit words: 32-bit words are cheaper there.
    assert mod._word_bits(k) == bits


@pytest.mark.parametrize("k", [1, 2, 3, 5000, 40_000, 2**16 + 1, 100_003])
def test_indices_are_uniform(k: int) -> None:
    out = np.empty(2_000_000, dtype=np.intp)
    mod._uniform_indices(np.random.SFC64(k), k, out)
    assert out.min() >= 0 and out.max() <= k - 1
    if k == 1:
        assert np.all(out == 0)
        return
    bins = min(k, 64)
    edges = np.arange(bins + 1) * k // bins  # bins of (nearly) equal width
    counts = np.histogram(out, bins=edges)[0]
    assert chisquare(counts, len(out) * np.diff(edges) / k).pvalue > 1e-4


@pytest.mark.parametrize(
    ("values", "pmf"), [([0.0, 1.0], [1, 2, 1]), ([0.0, 1.0, 2.0], [1, 3, 6, 7, 6, 3, 1])]
)
def test_small_k_matches_the_exact_bootstrap_pmf(
    monkeypatch: pytest.MonkeyPatch, values: list[float], pmf: list[int]
) -> None:
    # k = 2 and 3: the bootstrap sum has a known pmf ((1+z)^2/4, (1+z+z^2)^3/27). Many
    # resamples in small blocks exercise the block and task boundaries.
    _always_indices(monkeypatch)
    monkeypatch.setattr(mod, "_BLOCK_DRAWS", 999)
    monkeypatch.setattr(mod, "_TASK_DRAWS", 30_001)
    k, n = len(values), 200_003
    reps = resample_means(make_units(np.array(values), None), n, np.random.default_rng(0))
    sums = np.rint(reps * k).astype(int)
    assert np.allclose(reps * k, sums, atol=1e-12)
    expected = np.array(pmf) / sum(pmf) * n
    assert chisquare(np.bincount(sums, minlength=len(pmf)), expected).pvalue > 1e-4


def test_one_unit_gives_its_value() -> None:
    reps = resample_means(make_units(np.array([0.3]), None), 10, np.random.default_rng(0))
    assert np.all(reps == 0.3)


@pytest.mark.parametrize(("k", "n_resamples"), [(1000, 20_000), (5000, 10_000), (40_000, 2000)])
def test_replicates_match_the_plain_bootstrap(k: int, n_resamples: int) -> None:
    x = np.random.default_rng(k).gamma(2.0, size=k) - 2.0  # skewed, every value distinct
    fast = resample_means(make_units(x, None), n_resamples, np.random.default_rng(1))
    plain = _plain_bootstrap(x, n_resamples, seed=2)
    assert ks_2samp(fast, plain).pvalue > 1e-3
    se = x.std() / math.sqrt(k)  # the exact bootstrap sd of the mean: sd_pop / sqrt(n)
    assert fast.mean() == pytest.approx(x.mean(), abs=4 * se / math.sqrt(n_resamples))
    assert fast.std() == pytest.approx(se, rel=4 / math.sqrt(2 * n_resamples) + 0.01)
    # A 2.5% quantile from n resamples has a Monte Carlo sd of ~0.027 * se * sqrt(1e4 / n).
    tol = 4 * math.sqrt(2) * 0.027 * se * math.sqrt(1e4 / n_resamples)
    for p in (2.5, 50, 97.5):
        assert abs(np.percentile(fast, p) - np.percentile(plain, p)) < tol


@pytest.mark.parametrize(
    "case",
    ["normal", "offset 1e6 + noise", "tenths (float32 cannot hold)", "float32-exact, offset"],
)
def test_rounding_error_is_within_its_bound(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    k, n_resamples = 5000, 500
    rng = np.random.default_rng(3)
    x: np.ndarray = {
        "normal": rng.normal(size=k),
        "offset 1e6 + noise": 1e6 + rng.normal(size=k),
        "tenths (float32 cannot hold)": 0.1 * rng.integers(-50, 50, size=k),
        # float32 holds these, but not their sums: they must be centred too.
        "float32-exact, offset": 1000 + rng.integers(0, 64, size=k) / 1024,
    }[case]
    _always_indices(monkeypatch)  # few distinct values would take the counts path
    blocks = _recorded_indices(monkeypatch)
    reps = resample_means(make_units(x, None), n_resamples, np.random.default_rng(4), threads=1)
    idx = np.concatenate(blocks)
    assert idx.shape == (n_resamples, k)
    exact = (x[idx] - x.mean()).mean(axis=1) + x.mean()  # float64, centred like the path
    se = x.std() / math.sqrt(k)
    # The docstring's bound: (log2 K + 20) * 2**-24 * sqrt(K) bootstrap SEs (1.4e-4 here),
    # some 200x below the Monte Carlo error of a 2.5% quantile from 10,000 resamples.
    bound = (math.log2(k) + 20) * 2**-24 * math.sqrt(k) * se
    assert np.max(np.abs(reps - exact)) <= bound
    assert bound < 0.027 * se / 100


def test_float64_sums_for_many_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mod, "_FLOAT32_MAX_K", 100)
    x = 1e6 + np.random.default_rng(5).normal(size=500)
    blocks = _recorded_indices(monkeypatch)
    reps = resample_means(make_units(x, None), 200, np.random.default_rng(6), threads=1)
    exact = x[np.concatenate(blocks)].mean(axis=1)
    assert np.max(np.abs(reps - exact)) < 1e-6 * x.std() / math.sqrt(len(x))


def test_values_on_a_lattice_are_summed_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    _always_indices(monkeypatch)
    x = np.random.default_rng(7).choice([-1.0, 0.0, 1.0], size=5000)
    reps = resample_means(make_units(x, None), 300, np.random.default_rng(8))
    assert np.array_equal(reps, np.rint(reps * 5000) / 5000)  # (an integer sum) / K


@pytest.mark.parametrize(
    ("x", "exact"),
    [
        ([0.0, 1.0, -1.0], True),
        ([0.5, 0.25, 3.0], True),
        ([0.0, 0.0], True),
        ([0.1, 0.2], False),
        ([2.0**23, 2.0**23, 1.0], False),  # the sum needs 25 bits
        ([1000.0 + 1 / 1024] * 5000, False),
    ],
)
def test_sums_exactly(x: list[float], exact: bool) -> None:
    assert mod._sums_exactly(np.array(x)) is exact


@pytest.mark.parametrize("clustered", [False, True])
def test_same_result_for_any_thread_count(monkeypatch: pytest.MonkeyPatch, clustered: bool) -> None:
    _always_indices(monkeypatch)
    monkeypatch.setattr(mod, "_TASK_DRAWS", 3 * 700)  # 3 resamples per task: many tasks
    monkeypatch.setattr(mod, "_BLOCK_DRAWS", 2 * 700)
    x = np.random.default_rng(9).normal(size=700 * (3 if clustered else 1))
    labels = np.arange(len(x)) // 3 if clustered else None
    units = make_units(x, labels)
    assert units.k == 700
    runs = [resample_means(units, 1001, np.random.default_rng(10), threads=t) for t in (1, 2, 3)]
    assert np.array_equal(runs[0], runs[1]) and np.array_equal(runs[0], runs[2])
    other = resample_means(units, 1001, np.random.default_rng(11), threads=2)
    assert not np.array_equal(runs[0], other)


def test_clusters_match_the_plain_cluster_bootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    _always_indices(monkeypatch)
    rng = np.random.default_rng(12)
    sizes = rng.integers(1, 6, size=300)
    labels = np.repeat(np.arange(300), sizes)
    x = rng.normal(size=len(labels)) + np.repeat(rng.normal(size=300), sizes)
    fast = resample_means(make_units(x, labels), 20_000, np.random.default_rng(13))
    sums, n = np.bincount(labels, weights=x), np.bincount(labels).astype(float)
    idx = np.random.default_rng(14).integers(0, 300, size=(20_000, 300))
    plain = sums[idx].sum(axis=1) / n[idx].sum(axis=1)
    assert ks_2samp(fast, plain).pvalue > 1e-3
    assert fast.std() == pytest.approx(plain.std(), rel=0.04)


def test_bad_thread_count_raises() -> None:
    with pytest.raises(ValueError):
        resample_means(make_units(np.arange(10.0), None), 10, np.random.default_rng(0), 0)


def test_thread_count_follows_omp_num_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert mod._thread_count(None) == 1
    assert mod._thread_count(3) == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert mod._thread_count(None) >= 1
