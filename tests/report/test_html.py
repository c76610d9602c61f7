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
from evalcliff.report.examples import flipped_items
from evalcliff.report.formatting import ci_points, p_value, percent, points, signed_points
from evalcliff.report.html import B85_ALPHABET, b85
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
    # the compressed bundle, one figure's JSON, the page's script
    assert sum(t == "script" for t, _ in parser.tags) == 3


def test_no_network_references(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed")
        for key in ("src", "href"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)
    assert "<script src" not in page and 'src="http' not in page
    # plotly.js (holding attribution links in JS strings) is inlined compressed
    assert 'href="http' not in page and "http://" not in page and "https://" not in page
    assert "fetch(" not in page and "XMLHttpRequest" not in page


def test_plotly_inlined_once_compressed(page: str) -> None:
    assert page.count('id="plotly-gz"') == 1 and page.count("data-plot=") == 1
    assert len(page.encode()) < 2_000_000
    m = re.search(r'id="plotly-gz" data-bytes="(\d+)" data-alphabet="([^"]+)">([^<]*)<', page)
    assert m is not None and m[2] == B85_ALPHABET and len(B85_ALPHABET) == 85
    # decode as the page does, then gunzip: the bundle comes back byte for byte
    import gzip

    text, table = m[3].strip(), {c: i for i, c in enumerate(B85_ALPHABET)}
    out = bytearray()
    for i in range(0, len(text), 5):
        v = 0
        for ch in text[i : i + 5]:
            v = v * 85 + table[ch]
        out += v.to_bytes(4, "big")
    assert gzip.decompress(bytes(out[: int(m[1])])).decode() == get_plotlyjs()


def test_b85_alphabet_cannot_break_out_of_a_script() -> None:
    data = bytes(range(256)) * 50
    text = b85(data)
    assert not set(text) & set("<>&\"'/\\`-")
    assert "</script" not in text.lower() and "<!--" not in text


def test_verdict_headline_and_slices(page: str) -> None:
    assert 'class="banner nogo"' in page and "NO-GO" in page
    for name in SLICES:
        assert name in page
    assert "−8.3 pts" in page and "[−11.0, −5.6]" in page  # worst slice with its CI
    assert "[−0.9, +0.1]" in page  # traffic-weighted CI
    assert "~1,200 more" in page
    assert "regressed (Holm)" in page
    assert "(+" in page and " chars)" in page  # long output cut
    # the verdict box names the failing slice, its worst stratum with its CI, and advice
    box = page[page.index('id="verdict"') : page.index('id="forest"')]
    assert "long_context" in box and "len=8k,depth=0.5" in box and "[−24.0, −6.0]" in box
    assert "Keep long_context traffic" in box or "routing that traffic" in box
    assert "Run ~1,200 more paired items on low_resource" in box
    assert "this tail slice stops the swap" in box


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
    assert 'id="flips"' not in html and 'id="slices"' in html
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


def test_flipped_items_order_and_clipping() -> None:
    base, cand = sample_frames()
    items, total = flipped_items(base, cand, ["code", "head"], max_chars=300)
    assert total == 30
    assert [i.slice for i in items][:12] == ["code"] * 6 + ["head"] * 6
    assert items[0].item_id == "code-5" and items[0].cand_catastrophic
    assert all(it.item_id not in ("code-6", "code-7") for it in items)
    long = next(it for it in items if it.item_id == "code-0")
    assert long.cand_output.cut == len(IMG) + 400 - 300 and long.cand_output.text.endswith("…")


def test_formatting() -> None:
    assert points(0.853) == "85.3" and points(None) == "—" and points(float("nan")) == "—"
    assert signed_points(-0.032) == "−3.2" and signed_points(0.01) == "+1.0"
    assert signed_points(-0.0001) == "0.0"
    assert ci_points(-0.05, None) == "[−5.0, —]"
    assert percent(0.05) == "5.0%" and p_value(0.0001) == "<0.001" and p_value(0.5) == "0.500"


def _figures(html: str) -> dict[str, Any]:
    found = re.findall(r'<script type="application/json" data-plot="([^"]+)">(.*?)</script>', html)
    return {k: json.loads(v) for k, v in found}


def test_figures_are_escaped_json(page: str) -> None:
    figs = _figures(page)
    assert list(figs) == ["forest-plot"]
    f = figs["forest-plot"]
    assert f["config"]["displaylogo"] is False and f["layout"]["height"] > 0
    assert sum(len(t["x"]) for t in f["data"] if t["mode"] == "markers") == len(SLICES)
    assert f["layout"]["yaxis"]["ticktext"][0] == "head"


def test_forest_figure_is_linear(tmp_path: Path) -> None:
    """400 slices: one trace per status plus one for all the margin ticks, one shape."""
    from evalcliff.report.figures import forest_figure

    rows = [_slice(f"s{i}", ("pass", "fail", "inconclusive")[i % 3], -0.01, -0.02, 0.0)
            for i in range(400)]  # fmt: skip
    fig = forest_figure(rows)
    assert len(fig["data"]) == 4 and len(fig["layout"]["shapes"]) == 1


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_page_loader_decodes_the_bundle(page: str, tmp_path: Path) -> None:
    """The page's own loader (run by node with a stub DOM) rebuilds plotly.js and draws."""
    loader = re.findall(r"<script>(.*?)</script>", page, flags=re.S)[-1]
    m = re.search(r'id="plotly-gz" data-bytes="(\d+)" data-alphabet="([^"]+)">([^<]*)<', page)
    assert m is not None
    fig = re.search(r'data-plot="forest-plot">(.*?)</script>', page, flags=re.S)
    assert fig is not None
    stub = f"""
const gz = {{textContent: {json.dumps(m[3])}, dataset: {{bytes: "{m[1]}",
             alphabet: {json.dumps(m[2])}}}}};
const plot = {{textContent: {json.dumps(fig[1])}, dataset: {{plot: "forest-plot"}}}};
globalThis.window = globalThis;
globalThis.document = {{
  getElementById: (id) => id === "plotly-gz" ? gz : null,
  querySelectorAll: (q) => q.startsWith("script") ? [plot] : [],
}};
setTimeout(() => console.log(JSON.stringify({{
  length: globalThis.__len || null, drawn: globalThis.__drawn || null}})), 3000);
"""
    # plotly.js needs a real DOM: instead of running it, note its length and count the draw
    hook = "(0, eval)(js);"
    assert hook in loader
    fake = "globalThis.__len = js.length; window.Plotly = {newPlot: (id, d) => {"
    fake += " globalThis.__drawn = [id, d.length]; }};"
    code = loader.replace(hook, fake)
    path = tmp_path / "loader.js"
    path.write_text(stub + code, encoding="utf-8")
    done = subprocess.run(["node", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["drawn"] == ["forest-plot", 4] and out["length"] == len(get_plotlyjs())


def test_flips_browser_lists_every_flip_both_ways(page: str) -> None:
    base, cand = sample_frames()
    items, total = flipped_items(base, cand, SLICES, {"head-0": "What is 6 x 7? <b>"})
    assert total == 30 and len(items) == 30  # 6 regressed per slice, none improved
    assert items[0].slice == "head" and items[0].regressed
    assert next(i for i in items if i.item_id == "head-0").prompt.text == "What is 6 x 7? <b>"
    assert page.count('data-dir="regressed"') == 30
    assert 'id="f-slice"' in page and '<option value="long_context">' in page
    # improvements are listed too, after the regressions of their slice
    cand2 = cand.copy()
    base2 = base.copy()
    base2.loc[base2["item_id"] == "head-7", ["correct", "score"]] = [False, 0.0]
    items2, total2 = flipped_items(base2, cand2, SLICES)
    assert total2 == 31
    head = [i for i in items2 if i.slice == "head"]
    assert [i.regressed for i in head] == [True] * 6 + [False]


def test_flips_limit_and_errors_leave_the_browser() -> None:
    base, cand = sample_frames()
    cand.loc[cand["item_id"] == "head-0", "error"] = "timeout"
    items, total = flipped_items(base, cand, SLICES, limit=4)
    assert total == 29 and len(items) == 4
    assert all(i.item_id != "head-0" for i in items)


def test_marginal_views_numeric_order(tmp_path: Path) -> None:
    from evalcliff.report.strata import marginals, parse_stratum, sort_key

    assert parse_stratum("len=8k,depth=0.5") == {"len": "8k", "depth": "0.5"}
    lens = ["1k", "2k", "8k", "16k", "32k"]
    assert sorted(["16k", "1k", "32k", "2k", "8k"], key=sort_key) == lens
    keys = ("stratum", "n", "base_mean", "cand_mean", "delta", "ci_low", "ci_high")
    strata = [
        dict(zip(keys, (f"len={ln},depth={d}", 10, 0.9, 0.9 - dl, -dl, -dl - 0.1, -dl + 0.1),
                 strict=True))
        for ln, dl in (("16k", 0.3), ("1k", 0.0), ("4k", 0.1))
        for d in ("0.1", "0.5")
    ]  # fmt: skip
    sl = _slice("long_context", "fail", -0.13, -0.2, -0.06, strata=strata)
    dims = marginals(sl)
    assert [m.value for m in dims["len"]] == ["1k", "4k", "16k"]
    assert dims["len"][2].delta == pytest.approx(-0.3) and dims["len"][2].n == 20
    assert dims["len"][2].ci_low is None  # summary only: no CI
    pairs = pd.DataFrame(
        {"stratum": [s["stratum"] for s in strata for _ in range(10)],
         "score_b": 1.0, "score_c": [float(k % 3 != 0) for k in range(60)]}
    )  # fmt: skip
    with_ci = marginals(sl, pairs)
    assert all(m.ci_low is not None and m.ci_low <= m.delta for m in with_ci["depth"])
    html = render_report(sample_summary(), *sample_frames(), tmp_path / "r.html").read_text()
    assert 'id="strata"' in html and "Full strata grid" in html


def test_cost_panel_ratio_and_simulated_note(tmp_path: Path) -> None:
    from evalcliff.schema.run import MemoryEstimate, PerfStats

    summary = sample_summary()
    mib = 2**20
    mem = MemoryEstimate(weights_bytes=4 * mib, kv_bytes_per_token=4096, context=1024,
                         concurrency=1, kv_cache_bytes=4 * mib, total_bytes=8 * mib)  # fmt: skip
    base = _header("fp16").model_copy(update={"perf": PerfStats(requests_per_s=10.0)})
    small = mem.model_copy(update={"weights_bytes": mib})
    cand_model = ModelIdentity(path="embedded/tiny", compute_dtype="float32",
                               memory_estimate=small)  # fmt: skip
    cand = _header("q2").model_copy(
        update={
            "perf": PerfStats(requests_per_s=5.0),
            "settings": {"quantization": {"bits": 2, "group_size": 32}},
            "model": cand_model,
        }
    )
    base_model = ModelIdentity(path="embedded/tiny", memory_estimate=mem)
    base = base.model_copy(update={"model": base_model})
    s = summary.model_copy(update={"base": base, "cand": cand})
    html = render_report(s, None, None, tmp_path / "r.html").read_text()
    perf = html[html.index('id="perf"') : html.index('id="runs"')]
    assert "×0.50" in perf and "worse" in perf  # half the throughput
    assert "×0.25" in perf and "better" in perf  # a quarter of the weights
    assert "2-bit quantization is simulated" in perf and "not representative" in perf


def test_numbers_are_formatted_and_fonts_fall_back(page: str) -> None:
    assert "0.7999999999999998" not in page
    for font in ("Noto Sans Ethiopic", "Noto Sans Khmer", "Noto Sans Telugu", "Noto Serif Tibetan"):
        assert font in page
    assert "@media (max-width:1000px)" in page and 'class="scroll"' in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_headless_chromium_draws_the_figures(tmp_path: Path) -> None:
    """The page decompresses plotly.js offline and draws, with no console error."""
    base, cand = sample_frames()
    out = render_report(sample_summary(), base, cand, tmp_path / "r.html")
    done = subprocess.run(
        ["chromium", "--headless", "--disable-gpu", "--no-sandbox",
         "--disable-background-networking", "--virtual-time-budget=20000",
         "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", out.as_uri()],  # fmt: skip
        check=True,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.stdout.count('class="main-svg"') >= 1  # plotly ran and drew the forest plot
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "Uncaught" in line or "rror" in line], console
