"""Bootstrap confidence intervals from replicates: percentile and BCa.

Both are two-sided at level `confidence` and in the units of the replicates (score fractions).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

FloatArray = npt.NDArray[np.float64]


def check_confidence(confidence: float) -> None:
    """Raise ValueError unless 0 < confidence < 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def percentile_interval(reps: FloatArray, confidence: float) -> tuple[float, float]:
    """The (1-confidence)/2 and 1-(1-confidence)/2 quantiles of the replicates."""
    alpha = 1.0 - confidence
    lo, hi = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def acceleration(jackknife: FloatArray) -> float:
    """BCa acceleration from leave-one-unit-out estimates (Efron 1987, eq. 6.6):
    a = sum((m - t_j)^3) / (6 * sum((m - t_j)^2)^1.5), m the mean of the t_j; 0 if they are
    all equal."""
    dev = float(np.mean(jackknife)) - jackknife
    ss = float(np.sum(dev**2))
    if ss <= 0.0:
        return 0.0
    cubed = float(np.sum(dev**3))
    return cubed / (6.0 * ss * math.sqrt(ss))


def bias_correction(reps: FloatArray, estimate: float) -> float:
    """z0 = Phi^-1(share of replicates below the estimate), ties counting half.

    Ties matter: with 0/1 scores many replicates equal the estimate exactly.
    """
    below = float(np.sum(reps < estimate))
    ties = float(np.sum(reps == estimate))
    return float(ndtri((below + 0.5 * ties) / len(reps)))


def bca_interval(
    reps: FloatArray, estimate: float, jackknife: FloatArray, confidence: float
) -> tuple[float, float]:
    """Bias-corrected and accelerated (BCa) interval.

    `estimate` is the statistic on the sample, `jackknife` its leave-one-unit-out values
    (leave one *cluster* out for a cluster bootstrap). The percentile levels are
    Phi(z0 + (z0 + z) / (1 - a (z0 + z))) for z = z_{alpha/2}, z_{1-alpha/2}. Falls back to
    the percentile interval when z0 is infinite (every replicate on one side) or the
    adjusted levels are undefined.
    """
    z0 = bias_correction(reps, estimate)
    a = acceleration(jackknife)
    alpha = 1.0 - confidence
    levels = []
    for z in (float(ndtri(alpha / 2.0)), float(ndtri(1.0 - alpha / 2.0))):
        denom = 1.0 - a * (z0 + z)
        if not math.isfinite(z0) or denom <= 0.0:
            return percentile_interval(reps, confidence)
        levels.append(float(ndtr(z0 + (z0 + z) / denom)))
    lo, hi = np.quantile(reps, levels)
    return float(lo), float(hi)


def wilson(hits: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval (fractions) for `hits` successes in `total` binomial trials;
    (nan, nan) when total is 0. z = 1.96 gives the 95% interval."""
    if total == 0:
        return (math.nan, math.nan)
    p = hits / total
    den = 1 + z * z / total
    mid = (p + z * z / (2 * total)) / den
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))
