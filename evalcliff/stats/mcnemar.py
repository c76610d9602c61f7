"""Exact McNemar test on paired binary outcomes (correct in base vs. correct in cand)."""

from __future__ import annotations

from scipy.stats import binomtest


def mcnemar_exact(n_regressed: int, n_improved: int) -> float:
    """Exact two-sided McNemar p-value from the discordant pair counts.

    `n_regressed` = items correct in base but not in cand, `n_improved` the reverse. Under
    the null each discordant pair is equally likely to go either way, so this is a two-sided
    binomial test of `n_regressed` out of `n_regressed + n_improved` at p = 0.5.
    Returns a probability in [0, 1]; 1.0 when there are no discordant pairs.
    """
    if n_regressed < 0 or n_improved < 0:
        raise ValueError(f"flip counts must be >= 0, got ({n_regressed}, {n_improved})")
    n = int(n_regressed) + int(n_improved)
    if n == 0:
        return 1.0
    return float(min(1.0, binomtest(int(n_regressed), n, 0.5).pvalue))
