"""Number formatting for the report: fractions in [0, 1] shown as points (x100, one decimal).

Every formatter takes anything a summary may hold (float, int, numpy scalar, None, NaN) and
returns display text; a missing or non-finite value is shown as an em dash.
"""

from __future__ import annotations

import math
from numbers import Real

MISSING = "—"
MINUS = "−"  # U+2212: a typographic minus, as wide as "+" in tabular figures


def as_float(value: object) -> float | None:
    """`value` as a finite float, or None when it is missing, non-numeric, NaN or infinite."""
    if value is None or isinstance(value, bool) or not isinstance(value, Real):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _signed(x: float) -> str:
    text = f"{x:+.1f}"
    if text in ("+0.0", "-0.0"):
        return "0.0"
    return text.replace("-", MINUS)


def points(value: object) -> str:
    """A fraction as points with one decimal, unsigned: 0.853 -> '85.3'."""
    x = as_float(value)
    return MISSING if x is None else f"{x * 100:.1f}".replace("-", MINUS)


def signed_points(value: object) -> str:
    """A difference of fractions as signed points: -0.032 -> '−3.2', 0.01 -> '+1.0'."""
    x = as_float(value)
    return MISSING if x is None else _signed(x * 100)


def margin_points(value: object) -> str:
    """A tolerated drop (a positive fraction) as the threshold it sets: 0.02 -> '−2.0'."""
    x = as_float(value)
    return MISSING if x is None else _signed(-x * 100)


def flips(regressed: object, improved: object) -> str:
    """Flip counts both ways: (20, 8) -> '−20 / +8'; a missing count shows '—'."""
    r, i = count(regressed), count(improved)
    return f"{r if r == MISSING else MINUS + r} / {i if i == MISSING else '+' + i}"


def ci_points(low: object, high: object) -> str:
    """A CI of a difference as signed points, '[−5.0, −1.4]'; a missing bound shows '—'."""
    return f"[{signed_points(low)}, {signed_points(high)}]"


def percent(value: object) -> str:
    """A fraction as a percentage with one decimal: 0.05 -> '5.0%'."""
    x = as_float(value)
    return MISSING if x is None else f"{x * 100:.1f}%"


def p_value(value: object) -> str:
    """A p-value: '<0.001' below a thousandth, else three decimals."""
    x = as_float(value)
    if x is None:
        return MISSING
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def count(value: object) -> str:
    """An integer count with thousands separators; '—' when missing."""
    x = as_float(value)
    return MISSING if x is None else f"{round(x):,}"


def plain(value: object) -> str:
    """Any metadata value as text: None -> '—', floats via repr-like `str`, others `str`."""
    if value is None:
        return MISSING
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING
    return str(value)


def truncate(text: str, max_chars: int) -> tuple[str, int]:
    """(`text` cut to `max_chars` characters with '…' appended, number of characters cut)."""
    if len(text) <= max_chars:
        return text, 0
    return text[:max_chars] + "…", len(text) - max_chars


def kl_value(x: object) -> str:
    """A KL divergence in nats with 4 decimals, or the missing-value dash."""
    v = as_float(x)
    return "—" if v is None else f"{v:.4f}"


def kl_interval(lo: object, hi: object) -> str:
    """`[lo, hi]` of a KL divergence in nats, or empty when unknown."""
    a, b = as_float(lo), as_float(hi)
    return "" if a is None or b is None else f"[{a:.4f}, {b:.4f}]"
