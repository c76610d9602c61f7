"""Group-sequential non-inferiority for one slice: look at the paired differences after each
of K equal groups of items and stop sampling the slice once it is decided.

The design (O'Brien-Fleming shape, one-sided level a = (1 - confidence) / 2 per direction,
as the fixed-n gate's two bounds of a two-sided CI):
- at look k (of K) with n_k items, mean difference d and standard deviation s, the z-statistic
  for "the candidate loses less than the margin m" is z_k = (d + m) / (s / sqrt(n_k));
- **pass** once z_k > c_k, **fail** once -z_k > c_k, with c_k = C * sqrt(K / k);
- C makes P(any z_k > c_k) = a when the true difference sits on the margin: early looks
  need overwhelming evidence, the last one little more than a fixed-n test (C = z_{1-a}
  for K = 1). C is the (1 - a) quantile of max_k S_k / sqrt(K) for a Gaussian random walk
  S_k (computed once by a seeded simulation, so it is deterministic);
- after the last look an undecided slice is inconclusive.

`sequential_plan` gives the maximum items (the fixed-n plan times the design's inflation) and
`simulate_sequential` the error rates and expected items, which the benchmark reports.

The gate (`evalcliff.gate.sequential`) uses the same bounds in *information time*: a look at
which a share t of a slice's items has been run is judged against C / sqrt(t)
(`boundary_at`; exactly c_k when the looks are equal), through the repeated confidence
interval d +- c * se (`repeated_interval`), whose se is cluster-robust when items share a
cluster. Its pass is z > c, as in `decide_look`.
All differences are per-item `cand - base` in score fractions; rates are fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from evalcliff.stats.power import plan_items

Decision = Literal["pass", "fail", "continue", "inconclusive"]
_SIM_PATHS = 400_000


@lru_cache(maxsize=64)
def _walk_max_quantile(looks: int, alpha: float) -> float:
    rng = np.random.default_rng(20261202 + looks)
    steps = rng.standard_normal((_SIM_PATHS, looks))
    walk_max = np.cumsum(steps, axis=1).max(axis=1) / math.sqrt(looks)
    return float(np.quantile(walk_max, 1.0 - alpha))


def boundaries(looks: int, confidence: float = 0.95) -> npt.NDArray[np.float64]:
    """Critical z per look, c_k = C * sqrt(K / k), k = 1..K (one-sided level
    (1 - confidence) / 2 overall). For K = 1 this is the fixed-n z_{1-a}."""
    if looks < 1:
        raise ValueError(f"looks must be >= 1, got {looks}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    alpha = (1.0 - confidence) / 2.0
    c = float(norm.ppf(1.0 - alpha)) if looks == 1 else _walk_max_quantile(looks, alpha)
    k = np.arange(1, looks + 1, dtype=np.float64)
    out: npt.NDArray[np.float64] = c * np.sqrt(looks / k)
    return out


def decide_look(
    diffs: npt.ArrayLike, margin: float, look: int, looks: int, confidence: float = 0.95
) -> Decision:
    """The decision at look `look` (1-based) of `looks` on the paired differences seen so far.

    "continue" before the last look when neither bound is crossed; "inconclusive" at the
    last. With no spread (all differences equal) the sign of d + m decides.
    """
    if not 1 <= look <= looks:
        raise ValueError(f"look must be in 1..{looks}, got {look}")
    d = np.asarray(diffs, dtype=np.float64).ravel()
    if d.size == 0:
        raise ValueError("decide_look needs at least one difference")
    c = float(boundaries(looks, confidence)[look - 1])
    mean, sd = float(d.mean()), float(d.std(ddof=1)) if d.size > 1 else 0.0
    gap = mean + margin
    if sd == 0.0:
        z = math.inf if gap > 0 else (-math.inf if gap < 0 else 0.0)
    else:
        z = gap / (sd / math.sqrt(d.size))
    if z > c:
        return "pass"
    if -z > c:
        return "fail"
    return "continue" if look < looks else "inconclusive"


def boundary_at(information: float, looks: int, confidence: float = 0.95) -> float:
    """The O'Brien-Fleming bound C / sqrt(t) at information fraction t in (0, 1] of a
    `looks`-look design (the share of the slice's planned items run so far). At t = k/K it
    is `boundaries(looks, confidence)[k - 1]`; at t = 1 it is the final bound C."""
    if not 0.0 < information <= 1.0:
        raise ValueError(f"information must be in (0, 1], got {information}")
    final = float(boundaries(looks, confidence)[-1])
    return final / math.sqrt(information)


def boundary_level(boundary: float) -> float:
    """The two-sided confidence level whose normal quantile is `boundary`: a repeated CI
    with bound c holds each one-sided error at 1 - Phi(c)."""
    return float(1.0 - 2.0 * norm.sf(boundary))


def cluster_mean_se(
    diffs: npt.ArrayLike, clusters: npt.ArrayLike | None = None
) -> tuple[float, float]:
    """(mean, standard error of the mean) of paired differences.

    Without clusters (or when every label is distinct) the se is s / sqrt(n) with the
    n - 1 standard deviation, as `decide_look`. With clusters it is the cluster-robust
    (CR1) se: sqrt(G / (G - 1) * sum_g (S_g - mean * n_g)^2) / n over the G clusters' sums
    S_g and sizes n_g, which reduces to the former for singleton clusters. One item or one
    cluster: se 0 (no spread can be estimated; the gate's one-cluster guard applies).
    """
    d = np.asarray(diffs, dtype=np.float64).ravel()
    if d.size == 0:
        raise ValueError("cluster_mean_se needs at least one difference")
    mean = float(d.mean())
    if clusters is None:
        codes = np.arange(d.size)
    else:
        _, codes = np.unique(np.asarray(clusters).ravel(), return_inverse=True)
        codes = codes.ravel()
    groups = int(codes.max()) + 1
    if groups < 2:
        return mean, 0.0
    resid = np.bincount(codes, weights=d - mean, minlength=groups)
    var = groups / (groups - 1) * float(np.sum(resid * resid)) / d.size**2
    return mean, math.sqrt(max(var, 0.0))


def repeated_interval(
    diffs: npt.ArrayLike, clusters: npt.ArrayLike | None, boundary: float
) -> tuple[float, float, float]:
    """(mean, low, high) of the repeated confidence interval mean +- boundary * se
    (`cluster_mean_se`), clipped to [-1, 1] (where a difference of fractions lies; this
    changes no decision against a margin in (0, 1)). Its low end is above -m exactly when
    z = (mean + m) / se > boundary, the pass of `decide_look`; with no spread it is the point
    (mean, mean)."""
    mean, se = cluster_mean_se(diffs, clusters)
    half = boundary * se
    return mean, max(-1.0, mean - half), min(1.0, mean + half)


@dataclass(frozen=True)
class SequentialPlan:
    """Maximum paired items for a K-look design, the fixed-n items it replaces, and the
    ratio between them (the price of looking early; about 1.02 for 4 looks)."""

    looks: int
    max_items: int
    fixed_items: int
    inflation: float


def _power(theta: float, c: npt.NDArray[np.float64], rng: np.random.Generator) -> float:
    looks = len(c)
    steps = rng.standard_normal((100_000, looks)) + theta / math.sqrt(looks)
    z = np.cumsum(steps, axis=1) / np.sqrt(np.arange(1, looks + 1))
    return float(np.mean((z > c).any(axis=1)))


@lru_cache(maxsize=64)
def _inflation(looks: int, confidence: float, power: float) -> float:
    c = boundaries(looks, confidence)
    fixed = float(norm.ppf(1 - (1 - confidence) / 2) + norm.ppf(power))
    lo, hi = fixed, fixed * 1.5
    for _ in range(30):  # bisection on the drift that reaches `power`
        mid = (lo + hi) / 2
        if _power(mid, c, np.random.default_rng(7)) < power:
            lo = mid
        else:
            hi = mid
    return (hi / fixed) ** 2


def sequential_plan(
    margin: float,
    flip_rate: float,
    looks: int,
    expected_delta: float = 0.0,
    power: float = 0.8,
    confidence: float = 0.95,
) -> SequentialPlan:
    """Maximum items per slice for `looks` equal groups so that a slice whose true
    difference is `expected_delta` passes with probability `power` (as `plan_items`)."""
    fixed = plan_items(margin, flip_rate, expected_delta, power, confidence).items
    inflation = 1.0 if looks == 1 else _inflation(looks, confidence, power)
    max_items = looks * math.ceil(fixed * inflation / looks)
    return SequentialPlan(looks, max_items, fixed, inflation)


@dataclass(frozen=True)
class SimulatedDesign:
    """Outcome shares and mean items used over simulated 0/1 paired slices."""

    true_delta: float
    p_pass: float
    p_fail: float
    p_inconclusive: float
    mean_items: float
    max_items: int


def simulate_sequential(
    margin: float,
    flip_rate: float,
    true_delta: float,
    max_items: int,
    looks: int,
    reps: int,
    seed: int = 0,
    confidence: float = 0.95,
) -> SimulatedDesign:
    """Run the K-look design on `reps` simulated slices: each item flips down with
    probability (f - d) / 2 and up with (f + d) / 2 (f = flip rate, d = true delta)."""
    if abs(true_delta) > flip_rate:
        raise ValueError("|true delta| cannot exceed the flip rate")
    rng = np.random.default_rng(seed)
    u = rng.random((reps, max_items))
    down, up = (flip_rate - true_delta) / 2, (flip_rate + true_delta) / 2
    d = np.where(u < down, -1.0, np.where(u < down + up, 1.0, 0.0))
    c = boundaries(looks, confidence)
    group = max_items // looks
    outcome = np.zeros(reps, dtype=np.int8)  # 0 undecided, 1 pass, -1 fail
    used = np.full(reps, max_items, dtype=np.int64)
    csum, csq = np.cumsum(d, axis=1), np.cumsum(d * d, axis=1)
    for k in range(1, looks + 1):
        n = group * k if k < looks else max_items
        mean = csum[:, n - 1] / n
        var = (csq[:, n - 1] - n * mean**2) / max(1, n - 1)
        se = np.sqrt(np.maximum(var, 0.0) / n)
        gap = mean + margin
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, gap / se, np.sign(gap) * np.inf)
        open_ = outcome == 0
        passed, failed = open_ & (z > c[k - 1]), open_ & (-z > c[k - 1])
        outcome[passed], outcome[failed] = 1, -1
        used[passed | failed] = n
    return SimulatedDesign(
        true_delta=true_delta,
        p_pass=float(np.mean(outcome == 1)),
        p_fail=float(np.mean(outcome == -1)),
        p_inconclusive=float(np.mean(outcome == 0)),
        mean_items=float(used.mean()),
        max_items=max_items,
    )
