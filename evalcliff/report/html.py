"""The self-contained HTML report: one file, plotly.js inlined once, no network references.

Everything shown comes from summary.json (and, for the flips browser and the marginal
CIs, the two per-item results tables). Values are escaped by the template (autoescape on);
the only markup passed through unescaped is the compressed plotly bundle (base85 text) and the
figures' JSON (with `<`, `>` and `&` escaped).

Size: plotly.js (4.8 MB) is inlined gzip-compressed and base85-encoded (~1.8 MB), and the
page decompresses it with the browser's DecompressionStream, then draws the figures.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from evalcliff import __version__
from evalcliff.report import formatting as fmt
from evalcliff.report import verdict as verdict_box
from evalcliff.report.ci import ci_label_of, sequential_note
from evalcliff.report.examples import flipped_items
from evalcliff.report.figures import figure_json, forest_figure
from evalcliff.report.strata import Marginal, marginals, ordered_strata, valid_pairs
from evalcliff.schema.run import MemoryEstimate, Percentiles, RunHeader
from evalcliff.schema.summary import SliceSummary, Summary, Verdict

VERDICTS: dict[Verdict, tuple[str, str]] = {
    "go": ("GO", "go"),
    "no-go": ("NO-GO", "nogo"),
    "inconclusive": ("INCONCLUSIVE", "inconclusive"),
}
# Run-header fields in display order; any other field follows, in the order first seen.
HEADER_ORDER = (
    "variant",
    "backend",
    "settings",
    "model",
    "suite",
    "packages",
    "seed",
    "started_at",
    "finished_at",
    "n_items",
    "n_errors",
    "perf",
    "schema_version",
)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("evalcliff.report", "templates"),
        autoescape=True,  # on for every template, whatever its file extension
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pts=fmt.points,
        spts=fmt.signed_points,
        pct=fmt.percent,
        pval=fmt.p_value,
        count=fmt.count,
        plain=fmt.plain,
        margin=fmt.margin_points,
    )
    env.globals["ci"] = fmt.ci_points
    env.globals["flips"] = fmt.flips
    env.globals["num"] = fmt.as_float
    env.globals["kl"] = fmt.kl_value
    env.globals["klci"] = fmt.kl_interval
    return env


# Base85 over printable ASCII without " & ' - / < > \ ` : nothing in it can end a script
# element or start an HTML comment inside it, and it is 8% smaller than base64.
B85_ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "\"&'-/<>\\`")
_RFC1924 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"


def b85(data: bytes) -> str:
    """`data` zero-padded to a multiple of 4 bytes, 5 characters per 4 bytes, big-endian,
    in `B85_ALPHABET` (the page's decoder cuts the padding using the true length)."""
    padded = data + b"\0" * (-len(data) % 4)
    table = bytes.maketrans(_RFC1924, B85_ALPHABET.encode("ascii"))
    return base64.b85encode(padded).translate(table).decode("ascii")


@lru_cache(maxsize=1)
def _plotly_bundle() -> tuple[Markup, int]:
    """plotly.js gzip-compressed (deterministic: no timestamp), base85 text and byte length."""
    js: str = get_plotlyjs()
    packed = gzip.compress(js.encode("utf-8"), compresslevel=9, mtime=0)
    return Markup(b85(packed)), len(packed)


def _value_text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"  # 0.7999999999999998 -> 0.8
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False, default=str)
    if isinstance(value, Mapping):
        return json.dumps(dict(value), ensure_ascii=False, default=str)
    return fmt.plain(value)


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mapping -> {"a.b": text}; empty mappings and lists are shown as JSON."""
    out: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = _value_text(value)
    return out


def _ratio(b: float | None, c: float | None, lower_is_better: bool) -> tuple[str, str]:
    """(candidate ÷ base as '×0.52', 'better'/'worse'/'' for colouring)."""
    if b is None or c is None or b <= 0:
        return fmt.MISSING, ""
    r = c / b
    if abs(r - 1) < 0.005:
        return "×1.00", ""
    better = (r < 1) if lower_is_better else (r > 1)
    return f"×{r:.2f}", "better" if better else "worse"


def _num(v: float | None, digits: int, unit: str = "") -> str:
    return fmt.MISSING if v is None else f"{v:,.{digits}f}{unit}"


def _p(p: Percentiles | None, key: str) -> float | None:
    return None if p is None else getattr(p, key)


# (label, how to read the value from a header, digits, unit, lower is better)
_PERF: tuple[tuple[str, Any, int, str, bool], ...] = (
    ("requests / s", lambda h: h.perf.requests_per_s, 2, "", False),
    ("output tokens / s", lambda h: h.perf.output_tokens_per_s, 1, "", False),
    ("latency p50", lambda h: h.perf.latency_s.p50, 3, " s", True),
    ("latency p95", lambda h: h.perf.latency_s.p95, 3, " s", True),
    ("latency p99", lambda h: h.perf.latency_s.p99, 3, " s", True),
    ("time to first token p50", lambda h: h.perf.ttft_s.p50, 3, " s", True),
    ("time to first token p95", lambda h: h.perf.ttft_s.p95, 3, " s", True),
    ("inter-token gap p50", lambda h: h.perf.itl_s.p50, 4, " s", True),
)


def _mem(h: RunHeader | None, key: str) -> float | None:
    m: MemoryEstimate | None = None if h is None else h.model.memory_estimate
    v: int | None = None if m is None else getattr(m, key)
    return None if v is None else v / 2**20


def perf_rows(base: RunHeader | None, cand: RunHeader | None) -> list[dict[str, str]]:
    """Cost rows {label, base, cand, ratio, cls} from the run headers' `perf` and memory
    estimate; ratio = candidate ÷ base, `cls` 'better'/'worse'. Rows with no value on
    either side are left out; [] without headers."""
    if base is None and cand is None:
        return []
    rows: list[dict[str, str]] = []

    def add(label: str, b: float | None, c: float | None, digits: int, unit: str,
            lower: bool) -> None:  # fmt: skip
        if b is None and c is None:
            return
        ratio, cls = _ratio(b, c, lower)
        rows.append({"label": label, "base": _num(b, digits, unit),
                     "cand": _num(c, digits, unit), "ratio": ratio, "cls": cls})  # fmt: skip

    for label, get, digits, unit, lower in _PERF:
        add(label, get(base) if base else None, get(cand) if cand else None, digits, unit, lower)
    add("weights (deployed estimate)", _mem(base, "weights_bytes"), _mem(cand, "weights_bytes"),
        2, " MiB", True)  # fmt: skip
    known = next((h.model.memory_estimate for h in (base, cand)
                  if h is not None and h.model.memory_estimate is not None), None)  # fmt: skip
    if known is not None:
        kv = f"KV cache (fp16) at {known.context:,} tokens × {known.concurrency}"
        add(kv, _mem(base, "kv_cache_bytes"), _mem(cand, "kv_cache_bytes"), 2, " MiB", True)
        add("weights + KV cache", _mem(base, "total_bytes"), _mem(cand, "total_bytes"), 2,
            " MiB", True)  # fmt: skip
    return rows


def simulated_quantization(header: RunHeader | None) -> str | None:
    """A note when `header`'s quantization is simulated (weights rounded, then dequantized
    to a float dtype for compute): its latency says nothing about a low-bit kernel."""
    if header is None or header.backend != "hf":
        return None
    q = header.settings.get("quantization")
    if not isinstance(q, Mapping):
        return None
    bits = q.get("bits")
    dtype = header.model.compute_dtype or header.settings.get("dtype") or "float"
    return (
        f"{header.variant}: {bits}-bit quantization is simulated (round-to-nearest, then"
        f" dequantized to {dtype} for compute). Its accuracy is the quantized model's; its"
        " latency and throughput are those of the float model and not representative of a"
        " low-bit kernel. The memory row is the deployed estimate."
    )


def metadata_rows(base: Mapping[str, Any], cand: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows {key, base, cand, differs} over the union of both run headers' flattened fields."""
    fb, fc = flatten(base), flatten(cand)
    keys = list(dict.fromkeys([*fb, *fc]))

    def rank(key: str) -> int:
        top = key.split(".", 1)[0]
        return HEADER_ORDER.index(top) if top in HEADER_ORDER else len(HEADER_ORDER)

    keys.sort(key=rank)  # stable: first-seen order within a field
    return [
        {
            "key": k,
            "base": fb.get(k, fmt.MISSING),
            "cand": fc.get(k, fmt.MISSING),
            "differs": fb.get(k) != fc.get(k),
        }
        for k in keys
    ]


def _header(header: RunHeader | None) -> dict[str, Any]:
    return {} if header is None else header.model_dump(mode="json")


def run_facts(h: RunHeader | None) -> dict[str, str]:
    """Model, weights hash and dates for the page header."""
    if h is None:
        return {}
    m = h.model
    model = m.path or m.model_name or ", ".join(m.endpoints) or fmt.MISSING
    fp = m.weights_fingerprint or fmt.MISSING
    return {
        "variant": h.variant,
        "backend": h.backend,
        "model": model,
        "fingerprint": fp if len(fp) <= 23 else fp[:23] + "…",
        "started": (h.started_at or fmt.MISSING)[:19].replace("T", " "),
        "finished": (h.finished_at or fmt.MISSING)[:19].replace("T", " "),
    }


def _marginal_views(
    summary: Summary, pairs: pd.DataFrame | None
) -> list[dict[str, Any]]:
    by_slice: dict[str, pd.DataFrame] = {}
    if pairs is not None:
        by_slice = {str(k): g for k, g in pairs.groupby("slice", sort=False)}
    many = len(summary.slices) > 8
    out = []
    for sl in summary.slices:
        dims = marginals(sl, by_slice.get(sl.slice) if pairs is not None else None,
                         summary.policy.confidence)  # fmt: skip
        if dims:
            out.append({"slice": sl, "dims": dims, "open": not many or sl.status != "pass",
                        "scale": _scale(sl, dims)})  # fmt: skip
    return out


_NICE = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _scale(sl: SliceSummary, dims: Mapping[str, list[Marginal]]) -> float:
    """One slice's bar axis, ±points: a round number just beyond its largest |Δ| and its
    margin (CI ends beyond it are clipped at the edge)."""
    biggest = max([abs(m.delta) for rows in dims.values() for m in rows if m.delta is not None]
                  + [sl.margin], default=0.0)  # fmt: skip
    return next((x for x in _NICE if x >= 110 * biggest), 100.0)


def _bar(lo: object, d: object, hi: object, scale: float) -> dict[str, float] | None:
    """CSS percentages for a CI bar on an axis [-scale, +scale] points."""
    x, a, b = fmt.as_float(d), fmt.as_float(lo), fmt.as_float(hi)
    if x is None:
        return None

    def pos(v: float) -> float:
        return round(min(100.0, max(0.0, 50 + 50 * v * 100 / scale)), 2)

    left = pos(a if a is not None else x)
    right = pos(b if b is not None else x)
    return {"left": left, "width": max(right - left, 0.4), "dot": pos(x)}


def build_context(
    summary: Summary,
    base: pd.DataFrame | None,
    cand: pd.DataFrame | None,
    prompts: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The template's variables for `summary` (see `render_report`)."""
    verdict_text, verdict_class = VERDICTS[summary.verdict]
    slices = summary.slices
    worst = next((s for s in slices if s.slice == summary.headline.worst_slice), None)
    base_hdr, cand_hdr = _header(summary.base), _header(summary.cand)
    order = [s.slice for s in slices]
    flips = None
    flips_total = 0
    pairs = None
    if base is not None and cand is not None:
        flips, flips_total = flipped_items(base, cand, order, prompts)
        pairs = valid_pairs(base, cand)
    views = _marginal_views(summary, pairs)
    policy = summary.policy.model_dump(mode="json")
    first_caption, worst_caption = verdict_box.captions(summary)
    notes = [n for n in (simulated_quantization(summary.base),
                         simulated_quantization(summary.cand)) if n]  # fmt: skip
    return {
        "verdict_text": verdict_text,
        "verdict_class": verdict_class,
        "reasons": summary.reasons,
        "warnings": summary.warnings,
        "next_step": verdict_box.next_step(summary),
        "drivers": verdict_box.drivers(summary),
        "has_kl": any(s.kl_mean is not None for s in slices),
        "headline": summary.headline,
        "headline_caption": first_caption,
        "worst_caption": worst_caption,
        "worst": worst,
        "ci_label": ci_label_of(summary),
        "fixed_ci_label": f"{summary.policy.confidence * 100:g}% CI",
        "sequential_note": sequential_note(summary),
        "n_paired": summary.n_paired,
        "n_items": summary.n_items,
        "n_errors_base": summary.n_errors_base,
        "n_errors_cand": summary.n_errors_cand,
        "slices": slices,
        "strata_rows": {s.slice: ordered_strata(s.strata) for s in slices if s.strata},
        "marginal_views": views,
        "forest_html": figure_json(forest_figure(slices), "forest-plot") if slices else None,
        "flip_items": flips,
        "flips_total": flips_total,
        "flip_slices": list(dict.fromkeys(f.slice for f in flips or [])),
        "base_variant": summary.base_label,
        "cand_variant": summary.cand_label,
        "base_facts": run_facts(summary.base),
        "cand_facts": run_facts(summary.cand),
        "metadata": metadata_rows(base_hdr, cand_hdr),
        "perf": perf_rows(summary.base, summary.cand),
        "perf_notes": notes,
        "policy_rows": [{"key": k, "value": v} for k, v in flatten(policy).items()],
        "version": __version__,
        "plotly_gz": _plotly_bundle()[0],
        "plotly_gz_bytes": _plotly_bundle()[1],
        "b85_alphabet": B85_ALPHABET,
    }


def render_report(
    summary: Summary,
    base: pd.DataFrame | None,
    cand: pd.DataFrame | None,
    out_path: Path,
    prompts: Mapping[str, str] | None = None,
) -> Path:
    """Write the report for `summary` to `out_path`; return that path.

    The file is one self-contained UTF-8 HTML page that works offline: plotly.js is inlined
    once (compressed), figures are embedded as JSON, and nothing is loaded over the network.
    Fractions are shown as points (x100, one decimal), missing numbers as '—'. When `base`
    and `cand` (per-item results tables) are both given, every flipped item is listed in a
    filterable browser (prompt from `prompts`, item_id -> text, or a `prompt` column), and
    the marginal Δ per strata dimension gets CIs. All model output and every summary string
    is HTML-escaped. Parent directories are created and the file is replaced atomically.
    Raises ValueError if a results table lacks item_id, slice, correct or output. Linear in
    slices, strata and items.
    """
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(**build_context(summary, base, cand, prompts), bar=_bar)
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target, then rename: a reader never sees half a report.
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out_path
