"""The self-contained HTML report: one file, plotly.js inlined once, no network references.

Everything shown comes from summary.json (and, for the regressed examples, the two per-item
results tables). Values are escaped by the template (autoescape on); the only markup passed
through unescaped is the plotly bundle and plotly's own figure fragments.
"""

from __future__ import annotations

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
from evalcliff.report.examples import regressed_examples
from evalcliff.report.figures import figure_html, forest_figure, strata_figure
from evalcliff.schema.run import MemoryEstimate, Percentiles, RunHeader
from evalcliff.schema.summary import Summary, Verdict

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


@lru_cache(maxsize=1)
def _plotly_bundle() -> Markup:
    js: str = get_plotlyjs()
    if "</script" in js.lower():  # would end the inline <script> early
        raise RuntimeError("the plotly.js bundle contains '</script'; cannot inline it")
    return Markup(js)


def _value_text(value: object) -> str:
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


def _percentiles(p: Percentiles, digits: int) -> str:
    parts = [p.p50, p.p95, p.p99]
    if all(v is None for v in parts):
        return fmt.MISSING
    return " / ".join(fmt.MISSING if v is None else f"{v:.{digits}f}" for v in parts)


def _number(v: float | None, digits: int) -> str:
    return fmt.MISSING if v is None else f"{v:.{digits}f}"


def _perf_cells(h: RunHeader | None) -> list[str]:
    if h is None:
        return [fmt.MISSING] * 6
    p = h.perf
    return [
        _number(p.requests_per_s, 2),
        _number(p.output_tokens_per_s, 1),
        _percentiles(p.latency_s, 3),
        _percentiles(p.ttft_s, 3),
        _percentiles(p.itl_s, 4),
        _number(p.requests_computed, 0),
    ]


PERF_LABELS = (
    "requests/s",
    "output tokens/s",
    "latency p50 / p95 / p99 (s)",
    "time to first token p50 / p95 / p99 (s)",
    "inter-token gap p50 / p95 / p99 (s)",
    "requests computed (this process)",
)


def _mib(m: MemoryEstimate | None, key: str) -> str:
    v: int | None = None if m is None else getattr(m, key)
    return fmt.MISSING if v is None else f"{v / 2**20:.2f}"


def perf_rows(base: RunHeader | None, cand: RunHeader | None) -> list[dict[str, str]]:
    """Cost/latency rows (base vs candidate) from the run headers' `perf`; [] without
    headers."""
    if base is None and cand is None:
        return []
    rows = [
        {"label": label, "base": b, "cand": c}
        for label, b, c in zip(PERF_LABELS, _perf_cells(base), _perf_cells(cand), strict=True)
    ]
    mb = base.model.memory_estimate if base is not None else None
    mc = cand.model.memory_estimate if cand is not None else None
    if mb is not None or mc is not None:
        rows.append(
            {
                "label": "weights, deployed estimate (MiB)",
                "base": _mib(mb, "weights_bytes"),
                "cand": _mib(mc, "weights_bytes"),
            }
        )
        known = mb if mb is not None else mc
        assert known is not None
        rows.append(
            {
                "label": f"weights + fp16 KV cache at {known.context} tokens ×"
                f" {known.concurrency} (MiB)",
                "base": _mib(mb, "total_bytes"),
                "cand": _mib(mc, "total_bytes"),
            }
        )
    return rows


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


def build_context(
    summary: Summary, base: pd.DataFrame | None, cand: pd.DataFrame | None
) -> dict[str, Any]:
    """The template's variables for `summary` (see `render_report`)."""
    verdict_text, verdict_class = VERDICTS[summary.verdict]
    slices = summary.slices
    worst = next((s for s in slices if s.slice == summary.headline.worst_slice), None)
    base_hdr, cand_hdr = _header(summary.base), _header(summary.cand)
    strata = strata_figure(slices)
    examples = None
    if base is not None and cand is not None:
        examples = regressed_examples(base, cand, [s.slice for s in slices])
    policy = summary.policy.model_dump(mode="json")
    return {
        "verdict_text": verdict_text,
        "verdict_class": verdict_class,
        "reasons": summary.reasons,
        "warnings": summary.warnings,
        "has_kl": any(s.kl_mean is not None for s in slices),
        "headline": summary.headline,
        "worst": worst,
        "ci_label": f"{summary.policy.confidence * 100:g}% CI",
        "n_paired": summary.n_paired,
        "n_items": summary.n_items,
        "n_errors_base": summary.n_errors_base,
        "n_errors_cand": summary.n_errors_cand,
        "slices": slices,
        "has_strata": strata is not None,
        "forest_html": figure_html(forest_figure(slices), "forest-plot") if slices else None,
        "strata_html": figure_html(strata, "strata-plot") if strata is not None else None,
        "examples": examples,
        "base_variant": summary.base_label,
        "cand_variant": summary.cand_label,
        "metadata": metadata_rows(base_hdr, cand_hdr),
        "perf": perf_rows(summary.base, summary.cand),
        "policy_rows": [{"key": k, "value": v} for k, v in flatten(policy).items()],
        "version": __version__,
        "plotly_js": _plotly_bundle(),
    }


def render_report(
    summary: Summary,
    base: pd.DataFrame | None,
    cand: pd.DataFrame | None,
    out_path: Path,
) -> Path:
    """Write the report for `summary` to `out_path`; return that path.

    The file is one self-contained UTF-8 HTML page that works offline: plotly.js is inlined
    once, figures are embedded, and nothing is loaded over the network. Fractions are shown
    as points (x100, one decimal), missing numbers as '—'. When `base` and `cand` (per-item
    results tables) are both given, up to 5 regressed items per slice are shown; all model
    output and every summary string is HTML-escaped. Parent directories are created and the
    file is replaced atomically. Raises ValueError if a results table lacks item_id, slice,
    correct or output.
    """
    page = (
        _environment().get_template("report.html.j2").render(**build_context(summary, base, cand))
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
