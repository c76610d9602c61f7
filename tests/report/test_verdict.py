"""The verdict box: driving slices and strata, advice per status, captions per verdict."""

from __future__ import annotations

from typing import Any

from evalcliff.report.verdict import captions, drivers, next_step
from tests.report.test_html import _slice, sample_summary


def _strata(*rows: tuple[str, int, float]) -> list[dict[str, Any]]:
    return [
        {"stratum": s, "n": n, "base_mean": 1.0, "cand_mean": 1.0 + d, "delta": d,
         "ci_low": d - 0.05, "ci_high": min(0.0, d + 0.05)}
        for s, n, d in rows
    ]  # fmt: skip


def test_failed_slice_names_its_concentrated_stratum() -> None:
    strata = _strata(("lang=te", 16, -0.938), ("lang=bn", 16, -0.062), ("lang=en", 128, 0.0))
    sl = _slice("low_resource", "fail", -0.1, -0.15, -0.06, n=160, strata=strata, weight=0.05)
    s = sample_summary().model_copy(update={"slices": [sl], "verdict": "no-go"})
    (d,) = drivers(s)
    assert [t.stratum for t in d.strata] == ["lang=te", "lang=bn"]
    assert d.concentrated is not None and d.concentrated.stratum == "lang=te"
    text = " ".join(d.advice)
    assert "concentrated in lang=te" in text and "5.0% of production" in text
    assert "finer quantization" in text
    assert next_step(s).startswith("Do not swap as is: low_resource loses more than its margin")


def test_inconclusive_advice_depends_on_items_needed() -> None:
    few = _slice("a", "inconclusive", -0.01, -0.04, 0.02, items_needed=300, n=400, n_items=400)
    many = _slice("b", "inconclusive", -0.01, -0.04, 0.02, items_needed=13574, n_items=144)
    never = _slice("c", "inconclusive", -0.05, -0.09, -0.01, items_needed=None)
    s = sample_summary("inconclusive").model_copy(update={"slices": [few, many, never]})
    adv = {d.slice.slice: " ".join(d.advice) for d in drivers(s)}
    assert "Run ~300 more paired items on a" in adv["a"]
    assert "~13,574 more" in adv["b"] and "unlikely to settle it" in adv["b"]
    assert "More items would not decide it" in adv["c"]
    assert next_step(s).startswith("Not decided yet: a, b, c")


def test_guards_are_explained() -> None:
    sl = _slice("x", "inconclusive", None, None, None, guards=["no_pairs"], n=0)
    s = sample_summary("inconclusive").model_copy(update={"slices": [sl]})
    assert "no item is valid in both runs" in drivers(s)[0].advice[0]


def test_captions_follow_the_verdict() -> None:
    s = sample_summary("no-go")  # traffic-weighted CI [−0.9, +0.1] above −2: median approves
    first, second = captions(s)
    assert first == "the production mix alone would have approved the swap"
    assert second == "this tail slice stops the swap"  # the worst slice failed
    go = sample_summary("go").model_copy(
        update={"slices": [_slice("long_context", "pass", -0.01, -0.015, 0.0)]}
    )
    assert captions(go) == (
        "the production mix agrees",
        "even the worst slice stays within its margin",
    )
    assert "Every slice passed" in next_step(go) and drivers(go) == []
