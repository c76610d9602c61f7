"""The HTML report: escaping of untrusted output, no network references, one plotly bundle."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from evalcliff.gate import Policy
from evalcliff.report import render_report
from evalcliff.report.examples import regressed_examples
from evalcliff.report.formatting import ci_points, p_value, percent, points, signed_points
from evalcliff.schema import ModelIdentity, RunHeader, SliceSummary, SuiteManifest, Summary
from evalcliff.schema.summary import EffectivePolicy, EffectiveSlicePolicy

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SLICES = ["head", "long_context", "low_resource", "multihop_arith", "code"]


def _slice(
    name: str, status: str, delta: float | None, lo: float | None, hi: float | None, **extra: Any
) -> SliceSummary:
    row: dict[str, Any] = {
        "slice": name,
        "n": 400,
        "n_items": 403,
        "base_mean": 0.80,
        "cand_mean": None if delta is None else 0.80 + delta,
        "delta": delta,
        "ci_low": lo,
        "ci_high": hi,
        "flips_regressed": 20,
        "flips_improved": 8,
        "mcnemar_p": 0.0004,
        "mcnemar_p_holm": 0.002,
        "regressed": status == "fail",
        "margin": 0.02,
        "weight": 0.1,
        "max_catastrophic_increase": 0.02,
        "max_error_rate": 0.02,
        "min_base_score": 0.05,
        "status": status,
        "score_status": status,
        "catastrophic_status": "pass",
        "catastrophic_base": 0.01,
        "catastrophic_cand": 0.04,
        "catastrophic_delta": 0.03,
        "catastrophic_ci_low": 0.01,
        "catastrophic_ci_high": 0.05,
        "items_needed": None,
        "n_errors_base": 0,
        "n_errors_cand": 3,
        "error_rate": 3 / 403,
        "n_clusters": 400,
        "n_informative": 28,
        "strata": [],
    }
    row.update(extra)
    return SliceSummary.model_validate(row)


def _policy() -> EffectivePolicy:
    return EffectivePolicy(
        **Policy().model_dump(exclude={"slices"}),
        slices={
            "head": EffectiveSlicePolicy(
                margin=0.01,
                weight=0.85,
                max_catastrophic_increase=0.05,
                max_error_rate=0.02,
                min_base_score=0.05,
            )
        },
    )


def _header(variant: str, quant: str | None = None) -> RunHeader:
    suite = SuiteManifest(
        name="default", version=1, seed=0, content_hash="deadbeef", n_items=2000, slices={}
    )
    settings: dict[str, Any] = {"dtype": "float16"}
    if quant:
        settings["quantization"] = quant
    return RunHeader(
        run_key="k-" + variant,
        variant=variant,
        backend="hf",
        settings=settings,
        model=ModelIdentity(path="embedded/tiny", weights_fingerprint="abc123"),
        suite=suite,
        packages={"torch": "2.13.0", "lm_eval": "0.4.13"},
        started_at="2025-01-01T00:00:00Z",
    )


def sample_summary(verdict: str = "no-go") -> Summary:
    """A summary with one slice per status and None values in several places."""
    keys = ("stratum", "n", "base_mean", "cand_mean", "delta", "ci_low", "ci_high")
    strata = [
        dict(zip(keys, ("len=8k,depth=0.5", 100, 0.7, 0.55, -0.15, -0.24, -0.06), strict=True)),
        dict(zip(keys, ("len=32k,<i>x</i>", 100, 0.6, None, None, None, None), strict=True)),
    ]
    return Summary.model_validate(
        {
            "verdict": verdict,
            "reasons": ["long_context: CI high −5.6 pts < −margin", f"note {SCRIPT}"],
            "headline": {
                "traffic_weighted_delta": -0.004,
                "ci_low": -0.009,
                "ci_high": 0.001,
                "worst_slice": "long_context",
                "worst_delta": -0.0832,
            },
            "slices": [
                _slice("head", "pass", -0.002, -0.006, 0.002, margin=0.01, weight=0.85),
                _slice("long_context", "fail", -0.0832, -0.11, -0.056, margin=0.05, strata=strata),
                _slice("low_resource", "inconclusive", -0.01, -0.04, 0.02, items_needed=1200),
                _slice(
                    "multihop_arith",
                    "inconclusive",
                    None,
                    None,
                    None,
                    mcnemar_p=None,
                    mcnemar_p_holm=None,
                    catastrophic_base=None,
                    items_needed=None,
                    n=0,
                    guards=["no_pairs", "errors"],
                ),
                _slice("code", "pass", 0.01, -0.005, 0.025, max_catastrophic_increase=None),
            ],
            "policy": _policy(),
            "n_paired": 2000,
            "n_items": 2015,
            "base_label": "fp16",
            "cand_label": "int4",
            "base": _header("fp16"),
            "cand": _header("int4", "int4"),
        }
    )


def sample_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Paired results where every slice has regressed items with hostile outputs."""
    rows_b, rows_c = [], []
    for s in SLICES:
        for i in range(8):
            item = {
                "item_id": f"{s}-{i}",
                "suite": "default",
                "slice": s,
                "stratum": f"k={i % 2}",
                "cluster_id": f"c{i}",
                "prompt_hash": f"h{i}",
                "target": "42",
                "error": None,
                "latency_s": 0.1,
            }
            rows_b.append(
                {**item, "output": "42", "score": 1.0, "correct": True, "catastrophic": False}
            )
            bad = SCRIPT if i % 2 else IMG + "x" * 400
            wrong = i < 6  # items 6 and 7 are correct under both
            rows_c.append(
                {
                    **item,
                    "output": bad if wrong else "42",
                    "score": 0.0 if wrong else 1.0,
                    "correct": not wrong,
                    "catastrophic": wrong and i == 5,
                }
            )
    return pd.DataFrame(rows_b), pd.DataFrame(rows_c)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    base, cand = sample_frames()
    out = render_report(sample_summary(), base, cand, tmp_path_factory.mktemp("r") / "r.html")
    return out.read_text(encoding="utf-8")


def test_untrusted_output_is_escaped(page: str) -> None:
    assert SCRIPT not in page and IMG not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<i>x</i>" not in page  # a label reaching both the table and the plotly JSON
    parser = _Tags()
    parser.feed(page)
    assert not [t for t, a in parser.tags if t == "img" or "onerror" in a]
    assert sum(t == "script" for t, _ in parser.tags) == 3  # bundle + two figures


def test_no_network_references(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed")
        for key in ("src", "href"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)
    assert "<script src" not in page and 'src="http' not in page
    # plotly.js holds attribution links in JS strings; the rest of the page holds none.
    rest = page.replace(get_plotlyjs(), "")
    assert 'href="http' not in rest and "http://" not in rest and "https://" not in rest


def test_plotly_inlined_once(page: str) -> None:
    assert page.count(get_plotlyjs()) == 1
    assert page.count("Plotly.newPlot(") == 2


def test_verdict_headline_and_slices(page: str) -> None:
    assert 'class="banner nogo"' in page and "NO-GO" in page
    for name in SLICES:
        assert name in page
    assert "−8.3 pts" in page and "[−11.0, −5.6]" in page  # worst slice with its CI
    assert "[−0.9, +0.1]" in page  # traffic-weighted CI
    assert "~1,200 more" in page
    assert "regressed (Holm)" in page
    assert "5 of 6 regressed" in page
    assert "(+" in page and " chars)" in page  # long output cut


@pytest.mark.parametrize(
    ("verdict", "css", "text"),
    [
        ("go", "go", "GO"),
        ("no-go", "nogo", "NO-GO"),
        ("inconclusive", "inconclusive", "INCONCLUSIVE"),
    ],
)
def test_verdict_banner(tmp_path: Path, verdict: str, css: str, text: str) -> None:
    html = render_report(sample_summary(verdict), None, None, tmp_path / "r.html").read_text()
    assert f'class="banner {css}"' in html and f'<div class="verdict">{text}</div>' in html


def test_renders_without_results_frames(tmp_path: Path) -> None:
    out = render_report(sample_summary(), None, None, tmp_path / "deep" / "r.html")
    html = out.read_text(encoding="utf-8")
    assert 'id="examples"' not in html and 'id="slices"' in html
    assert not list(out.parent.glob(".*tmp"))


def test_minimal_summary_renders(tmp_path: Path) -> None:
    minimal = Summary(verdict="go", policy=_policy(), n_paired=0, n_items=0)
    html = render_report(minimal, None, None, tmp_path / "r.html").read_text()
    assert "GO" in html and "No slices in the summary." in html
    assert "No run headers in the summary." in html


def test_bad_verdict_is_an_error() -> None:
    data = sample_summary().model_dump()
    data["verdict"] = "maybe"
    with pytest.raises(ValueError, match="verdict"):
        Summary.model_validate(data)


def test_regressed_examples_pick_and_order() -> None:
    base, cand = sample_frames()
    ex = regressed_examples(base, cand, ["code", "head"], per_slice=5, max_chars=300)
    assert [e.slice for e in ex][:2] == ["code", "head"]
    assert {e.slice for e in ex} == set(SLICES)
    first = ex[0]
    assert first.total == 6 and len(first.items) == 5
    assert first.items[0].item_id == "code-5" and first.items[0].cand_catastrophic
    assert all(it.item_id not in ("code-6", "code-7") for it in first.items)
    long = next(it for it in first.items if it.item_id == "code-0")
    assert long.cand_output.cut == len(IMG) + 400 - 300 and long.cand_output.text.endswith("…")


def test_formatting() -> None:
    assert points(0.853) == "85.3" and points(None) == "—" and points(float("nan")) == "—"
    assert signed_points(-0.032) == "−3.2" and signed_points(0.01) == "+1.0"
    assert signed_points(-0.0001) == "0.0"
    assert ci_points(-0.05, None) == "[−5.0, —]"
    assert percent(0.05) == "5.0%" and p_value(0.0001) == "<0.001" and p_value(0.5) == "0.500"


def _scripts(html: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", html, flags=re.S)


_STUB = """
globalThis.window = globalThis;
globalThis.document = {getElementById: (id) => ({id})};
globalThis.Plotly = {newPlot: (id, data, layout, config) => console.log(JSON.stringify(
    {id, traces: data.length, height: layout.height, logo: config.displaylogo}))};
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_figure_scripts_run(page: str, tmp_path: Path) -> None:
    """Each figure's inline script runs and hands plotly valid data (plotly itself stubbed)."""
    calls = []
    for i, code in enumerate(_scripts(page)[1:]):  # [0] is the plotly bundle
        path = tmp_path / f"s{i}.js"
        path.write_text(_STUB + code, encoding="utf-8")
        done = subprocess.run(["node", str(path)], check=True, capture_output=True, text=True)
        calls.append(json.loads(done.stdout))
    assert [c["id"] for c in calls] == ["forest-plot", "strata-plot"]
    assert all(c["traces"] >= 1 and c["height"] > 0 and c["logo"] is False for c in calls)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_headless_chromium_draws_the_figures(tmp_path: Path) -> None:
    base, cand = sample_frames()
    out = render_report(sample_summary(), base, cand, tmp_path / "r.html")
    dom = subprocess.run(
        ["chromium", "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom", out.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert dom.count('class="main-svg"') >= 2  # plotly ran and drew both figures
