"""Sample sizes for paired non-inferiority: more items for an undecided slice, and a plan
for a new suite."""

from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Plan:
    """Paired items per slice for a non-inferiority decision (see `plan_items`).

    `variance` is the per-item variance of a 0/1 difference (score fractions squared),
    `n_independent` the unrounded items needed for independent items, `design_effect` the
    variance inflation of clustering, `items` = ceil(n_independent * design_effect) and
    `clusters` = ceil(items / cluster_size). `decides` says which outcome the plan powers:
    "pass" (expected delta above -margin) or "fail".
    """

    margin: float
    flip_rate: float
    expected_delta: float
    power: float
    confidence: float
    cluster_size: int
    icc: float
    z_confidence: float
    z_power: float
    variance: float
    n_independent: float
    design_effect: float
    items: int
    clusters: int
    decides: str


def plan_items(
    margin: float,
    flip_rate: float,
    expected_delta: float = 0.0,
    power: float = 0.8,
    confidence: float = 0.95,
    cluster_size: int = 1,
    icc: float = 0.0,
) -> Plan:
    """Items per slice so that a paired 0/1 slice is decided with probability `power`.

    With discordance (flip) rate f and expected delta d (cand - base), a paired 0/1
    difference has variance f - d^2, and (as in `items_needed`)

        n_1 = ((z_{1-a/2} + z_power) * sqrt(f - d^2) / |d + margin|)^2,  a = 1 - confidence,
        items = ceil(n_1 * (1 + (cluster_size - 1) * icc))

    where 1 + (m - 1) * icc is the design effect of clusters of m items whose differences
    have intra-cluster correlation icc. All rates and deltas are fractions (2 points = 0.02).
    Raises ValueError for values out of range, |d| > f (more net change than flips), or
    d == -margin (no sample size decides a slice sitting on its margin).
    """
    for name, value, top in (
        ("margin", margin, "]"),
        ("flip rate", flip_rate, "]"),
        ("power", power, ")"),
        ("confidence", confidence, ")"),
    ):
        ok = 0.0 < value <= 1.0 if top == "]" else 0.0 < value < 1.0
        if not (math.isfinite(value) and ok):
            raise ValueError(f"{name} must be in (0, 1{top}, got {value}")
    if not math.isfinite(icc) or not 0.0 <= icc <= 1.0:
        raise ValueError(f"icc must be in [0, 1], got {icc}")
    if cluster_size < 1:
        raise ValueError(f"cluster size must be >= 1, got {cluster_size}")
    if not math.isfinite(expected_delta) or abs(expected_delta) > flip_rate:
        raise ValueError(
            f"|expected delta| ({abs(expected_delta):g}) cannot exceed the flip rate"
            f" ({flip_rate:g}): a net change needs at least as many flips"
        )
    if expected_delta + margin == 0.0:
        raise ValueError(
            f"expected delta {expected_delta:g} sits exactly on the margin -{margin:g}:"
            " no sample size decides it"
        )
    variance = flip_rate - expected_delta**2
    z_conf = float(norm.ppf(1.0 - (1.0 - confidence) / 2.0))
    z_pow = float(norm.ppf(power))
    n1 = ((z_conf + z_pow) * math.sqrt(variance) / abs(expected_delta + margin)) ** 2
    deff = 1.0 + (cluster_size - 1) * icc
    items = items_needed(expected_delta, variance * deff, 0, margin, confidence, power)
    if items is None:  # variance 0: every item flips one way; one item decides
        items = 1
    return Plan(
        margin=margin,
        flip_rate=flip_rate,
        expected_delta=expected_delta,
        power=power,
        confidence=confidence,
        cluster_size=cluster_size,
        icc=icc,
        z_confidence=z_conf,
        z_power=z_pow,
        variance=variance,
        n_independent=n1,
        design_effect=deff,
        items=max(1, items),
        clusters=math.ceil(max(1, items) / cluster_size),
        decides="pass" if expected_delta > -margin else "fail",
    )
