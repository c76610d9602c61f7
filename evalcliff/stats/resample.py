"""Exact nonparametric (cluster) bootstrap of a mean, fast.

A bootstrap resample draws K units (items, or whole clusters) uniformly with replacement from
the K observed ones; its mean is (sum of the drawn units' sums) / (sum of their sizes). Units
with the same (sum, size) are interchangeable, so only how many draws land in each group of
equal units matters, and those counts are exactly Multinomial(K, group counts / K). With G
distinct units that costs G - 1 binomial draws per resample instead of K integer draws: for
0/1 scores G is 3 without clusters and a few dozen with them. When units are mostly distinct
(continuous scores) integer draws are cheaper and are used instead. Both paths give draws
from the same (exact bootstrap) distribution; results are deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# Bytes of draws (indices or counts) held at once.
_CHUNK_BYTES = 32 * 2**20
# Bytes of gathered float32 items held at once on the continuous path (stays in cache).
_GATHER_BYTES = 2 * 2**20
# CPU cost of one binomial draw in units of one integer draw + gather (measured on x86).
_BINOMIAL_COST = 9.0

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Units:
    """The resampling units of a sample: per-unit sums and sizes (None: all size 1).

    For a plain paired bootstrap the units are the items (sums = the differences); for a
    cluster bootstrap they are the clusters.
    """

    sums: FloatArray
    sizes: FloatArray | None

    @property
    def k(self) -> int:
        """Number of units."""
        return len(self.sums)

    @property
    def estimate(self) -> float:
        """Sum of the unit sums over the total size: the plain mean of the items."""
        total = float(self.sizes.sum()) if self.sizes is not None else float(self.k)
        return float(self.sums.sum()) / total


def make_units(diffs: FloatArray, clusters: npt.ArrayLike | None) -> Units:
    """Group `diffs` (one value per item) into resampling units by `clusters` labels.

    Without labels, or when every label is distinct, each item is its own unit of size 1.
    """
    if clusters is None:
        return Units(diffs, None)
    labels = np.asarray(clusters)
    if labels.shape != diffs.shape:
        raise ValueError(f"clusters has shape {labels.shape}, diffs has shape {diffs.shape}")
    _, codes = np.unique(labels, return_inverse=True)
    codes = codes.ravel()
    sizes = np.bincount(codes).astype(np.float64)
    if len(sizes) == len(diffs):
        return Units(diffs, None)  # singleton clusters: the plain paired bootstrap
    return Units(np.bincount(codes, weights=diffs).astype(np.float64), sizes)


def _groups(units: Units) -> tuple[FloatArray, FloatArray | None, npt.NDArray[np.int64]]:
    """Distinct units (sums, sizes) and how many of the K units equal each."""
    if units.sizes is None:
        sums, counts = np.unique(units.sums, return_counts=True)
        return sums, None, counts.astype(np.int64)
    pairs, counts = np.unique(
        np.column_stack([units.sums, units.sizes]), axis=0, return_counts=True
    )
    return pairs[:, 0].copy(), pairs[:, 1].copy(), counts.astype(np.int64)


def _by_counts(
    units: Units,
    groups: tuple[FloatArray, FloatArray | None, npt.NDArray[np.int64]],
    n_resamples: int,
    rng: np.random.Generator,
    out: FloatArray,
) -> None:
    sums, sizes, counts = groups
    k = units.k
    pvals = counts / k
    chunk = max(1, _CHUNK_BYTES // (8 * len(counts)))
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        drawn = rng.multinomial(k, pvals, size=stop - start).astype(np.float64)
        total = drawn @ sums
        out[start:stop] = total / (drawn @ sizes) if sizes is not None else total / k


def _by_indices(units: Units, n_resamples: int, rng: np.random.Generator, out: FloatArray) -> None:
    k = units.k
    # Narrow index types draw faster; Lemire's method keeps every type exactly uniform.
    dtype = np.uint16 if k <= 2**16 else (np.uint32 if k <= 2**32 else np.int64)
    if units.sizes is None:
        _items_by_indices(units.sums, n_resamples, rng, out, dtype)
        return
    # One complex gather fetches a cluster's sum and size together (about 30% faster).
    values = units.sums + 1j * units.sizes
    chunk = max(1, _CHUNK_BYTES // (values.itemsize * k))
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, k, size=(stop - start, k), dtype=dtype)
        total = values[idx].sum(axis=1)
        out[start:stop] = total.real / total.imag


def _items_by_indices(
    values: FloatArray,
    n_resamples: int,
    rng: np.random.Generator,
    out: FloatArray,
    dtype: type[np.integer[Any]],
) -> None:
    """Means of K items drawn with replacement, R times: the continuous-score hot path.

    The gather and the row sums dominate (not the draws), and both are memory-bound: the
    items are centred on their mean and gathered as float32 into a reused buffer of about
    2 MB (cache-resident), summed in float32 and shifted back in float64. The centred sum's
    rounding error is ~1e-7 of the spread of one item, far below any CI's Monte Carlo
    error (values float32 holds exactly, like 0/1 differences, sum exactly); replicates are
    clipped to [min, max] of the items, which a mean cannot leave.
    """
    k = len(values)
    table = values.astype(np.float32)
    # Values float32 holds exactly (0/1 differences, halves...) sum exactly: keep them
    # uncentred, so replicates stay on their lattice; others are centred first.
    centre = 0.0
    if not np.array_equal(table, values) or k * float(np.abs(values).max()) >= 2**24:
        centre = float(values.mean())
        table = (values - centre).astype(np.float32)
    lo, hi = float(values.min()), float(values.max())
    rows = max(1, _GATHER_BYTES // (4 * k))
    buf = np.empty((min(rows, n_resamples), k), dtype=np.float32)
    for start in range(0, n_resamples, rows):
        stop = min(n_resamples, start + rows)
        idx = rng.integers(0, k, size=(stop - start, k), dtype=dtype)
        gathered = buf[: stop - start]
        np.take(table, idx, out=gathered)
        out[start:stop] = gathered.sum(axis=1)  # float32 sums, widened on assignment
    out /= k
    out += centre
    np.clip(out, lo, hi, out=out)


def resample_means(units: Units, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    """`n_resamples` bootstrap replicates of the mean (units of the input, e.g. score
    fractions), each the mean of K units drawn uniformly with replacement.

    Picks the multinomial-over-distinct-units path when it needs fewer random draws, else
    integer draws in chunks; either way about 32 MB of draws are held at once.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if units.k == 0:
        raise ValueError("resample_means needs at least one unit")
    out = np.empty(n_resamples, dtype=np.float64)
    groups = _groups(units)
    if (len(groups[2]) - 1) * _BINOMIAL_COST < units.k:
        _by_counts(units, groups, n_resamples, rng, out)
    else:
        _by_indices(units, n_resamples, rng, out)
    return out


def jackknife_means(units: Units) -> FloatArray:
    """Leave-one-unit-out means (one per unit; for clusters, leave one cluster out).

    Needs at least 2 units.
    """
    if units.k < 2:
        raise ValueError("the jackknife needs at least 2 units")
    sizes = units.sizes if units.sizes is not None else np.ones(units.k)
    out: FloatArray = (units.sums.sum() - units.sums) / (sizes.sum() - sizes)
    return out
