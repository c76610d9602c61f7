"""The control chart on weekly paired deltas: a one-sided (downward) EWMA.

Each week t (a recorded run after the baseline) gives a slice's paired delta against the
baseline, Δ_t, with its standard error se_t (from the gate's bootstrap CI). The chart smooths
z_t = Δ_t / se_t: E_t = λ·z_t + (1 − λ)·E_{t−1}, E_0 = 0, and alarms when E_t falls below
−L·sd(E_t). The weeks share one baseline run, so their z are correlated (ρ = 1/2 when every
run is equally noisy): sd(E_t)² = (1 − ρ)·Σw_j² + ρ·(Σw_j)² with w_j = λ(1 − λ)^(t−j). Without
ρ a lucky baseline would make every later week look worse and the chart would alarm on
stable weeks. λ and L were calibrated by simulation (`python -m evalcliff.drift.simulate`;
numbers in README "History and drift").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Z_CLIP = 10.0

FloatArray = npt.NDArray[np.float64]


def standardize(delta: FloatArray, se: FloatArray) -> FloatArray:
    """z = delta / se, clipped to ±10; a week with se = 0 (every pair equal, or one-sided
    flips only) is 0 when delta is 0, else ±10 (a change no noise can explain)."""
    delta = np.asarray(delta, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, delta / np.where(se > 0, se, 1.0), np.sign(delta) * Z_CLIP)
    out: FloatArray = np.clip(np.nan_to_num(z, nan=0.0), -Z_CLIP, Z_CLIP)
    return out


@dataclass(frozen=True)
class EwmaChart:
    """A downward EWMA chart on standardized weekly deltas (see the module docstring).

    `lam`: smoothing weight of the newest week; `limit`: L, in units of sd(E_t);
    `rho`: assumed correlation of two weeks' z through the shared baseline.
    """

    lam: float = 0.25
    limit: float = 2.75
    rho: float = 0.5

    def sd(self, n_weeks: int) -> FloatArray:
        """sd(E_t) for t = 1..n_weeks under stable weeks."""
        t = np.arange(1, n_weeks + 1, dtype=np.float64)
        decay = (1.0 - self.lam) ** t
        sum_w = 1.0 - decay
        sum_w2 = self.lam / (2.0 - self.lam) * (1.0 - decay**2)
        return np.sqrt((1.0 - self.rho) * sum_w2 + self.rho * sum_w**2)

    def run(self, z: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
        """(E_t, lower limit −L·sd_t, alarm) for z of shape (..., weeks); vectorised over
        leading axes (the simulation charts many histories at once)."""
        z = np.asarray(z, dtype=np.float64)
        ewma = np.empty_like(z)
        level = np.zeros(z.shape[:-1])
        for t in range(z.shape[-1]):
            level = self.lam * z[..., t] + (1.0 - self.lam) * level
            ewma[..., t] = level
        lower = -self.limit * self.sd(z.shape[-1])
        return ewma, np.broadcast_to(lower, z.shape).copy(), ewma < lower


DEFAULT_CHART = EwmaChart()
