"""How many more paired items would decide an inconclusive non-inferiority test."""

from __future__ import annotations

import math

from scipy.stats import norm


def items_needed(
    delta: float,
    variance: float,
    n_current: int,
    margin: float,
    confidence: float = 0.95,
    power: float = 0.8,
) -> int | None:
    """Additional paired items needed for the CI to clear the margin at the observed effect.

    Normal approximation for a mean of paired differences: the CI half-width at n items is
    z_{1-a/2} * sd / sqrt(n), with a = 1 - confidence and sd = sqrt(variance). If the true
    mean difference is the observed `delta`, the CI bound lands on the decided side of -margin
    with probability `power` once

        n_req = ((z_{1-a/2} + z_{power}) * sd / |delta + margin|)^2

    Returns max(0, ceil(n_req - n_current)). `delta` and `margin` are score fractions (a drop
    of 3 points is -0.03, a 2-point margin is 0.02); `variance` is the per-item variance of
    the differences (for 0/1 outcomes: discordance rate - delta^2), or an effective
    design-effect-inflated variance for clustered items. Returns None when delta == -margin
    exactly (no sample size decides it) or variance <= 0 (no noise: nothing to wait for).
    The same formula serves a hard rule "increase <= L" with margin = -L.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")
    gap = abs(delta + margin)
    if gap == 0.0 or not variance > 0.0 or not math.isfinite(variance):
        return None
    z = float(norm.ppf(1.0 - (1.0 - confidence) / 2.0)) + float(norm.ppf(power))
    n_req = (z * math.sqrt(variance) / gap) ** 2
    return max(0, math.ceil(n_req - n_current))
