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

VERDICTS: dict[str, tuple[str, str]] = {
    "go": ("GO", "go"),
    "no-go": ("NO-GO", "nogo"),
    "inconclusive": ("INCONCLUSIVE", "inconclusive"),
}
# Run-header fields in display order; any other field follows, in the order first seen.
HEADER_ORDER = (
    "variant",
    "backend",
    "backend_settings",
    "model",
    "suite",
    "packages",
    "seed",
    "started_at",
    "finished_at",
    "n_items",
    "n_errors",
    "schema_version",
)

HEADLINE_KEYS = ("traffic_weighted_delta", "ci_low", "ci_high", "worst_slice", "worst_delta")
SLICE_KEYS = (
    "kl_mean",
    "kl_ci_low",
    "kl_ci_high",
    "top1_agreement",
    "top1_ci_low",
    "top1_ci_high",
    "slice",
    "n",
    "base_mean",
    "cand_mean",
    "delta",
    "ci_low",
    "ci_high",
    "flips_regressed",
    "flips_improved",
    "mcnemar_p",
    "mcnemar_p_holm",
    "regressed",
    "margin",
    "weight",
    "status",
    "catastrophic_base",
    "catastrophic_cand",
    "catastrophic_delta",
    "catastrophic_ci_low",
    "catastrophic_ci_high",
    "max_catastrophic_increase",
    "items_needed",
    "n_errors_base",
    "n_errors_cand",
)
STRATUM_KEYS = ("stratum", "n", "base_mean", "cand_mean", "delta", "ci_low", "ci_high")
STATUS_CLASSES = ("pass", "fail", "inconclusive")


def _filled(record: Mapping[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any]:
    """`record` with every key in `keys` present (None when absent), so the template can
    rely on them."""
    return {**dict.fromkeys(keys), **(record or {})}


def _slice_view(record: Mapping[str, Any]) -> dict[str, Any]:
    view = _filled(record, SLICE_KEYS)
    view["strata"] = [_filled(t, STRATUM_KEYS) for t in record.get("strata") or []]
    view["status_class"] = view["status"] if view["status"] in STATUS_CLASSES else "other"
    return view


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


PERF_ROWS = (
    ("requests/s", ("requests_per_s",), 2),
    ("output tokens/s", ("output_tokens_per_s",), 1),
    ("latency p50 / p95 / p99 (s)", ("latency_s",), 3),
    ("time to first token p50 / p95 / p99 (s)", ("ttft_s",), 3),
    ("inter-token gap p50 / p95 / p99 (s)", ("itl_s",), 4),
    ("requests computed (this process)", ("requests_computed",), 0),
)


def _perf_cell(perf: Mapping[str, Any], key: str, digits: int) -> str:
    value = perf.get(key)
    if isinstance(value, Mapping):
        parts = [fmt.as_float(value.get(p)) for p in ("p50", "p95", "p99")]
        if all(v is None for v in parts):
            return fmt.MISSING
        return " / ".join(fmt.MISSING if v is None else f"{v:.{digits}f}" for v in parts)
    v = fmt.as_float(value)
    return fmt.MISSING if v is None else f"{v:.{digits}f}"


def perf_rows(base: Mapping[str, Any], cand: Mapping[str, Any]) -> list[dict[str, str]]:
    """Cost/latency rows (base vs candidate) from the run headers' `perf`; [] if absent."""
    pb, pc = base.get("perf") or {}, cand.get("perf") or {}
    if not pb and not pc:
        return []
    rows = [
        {"label": label, "base": _perf_cell(pb, keys[0], d), "cand": _perf_cell(pc, keys[0], d)}
        for label, keys, d in PERF_ROWS
    ]
    mb = (base.get("model") or {}).get("memory_estimate") or {}
    mc = (cand.get("model") or {}).get("memory_estimate") or {}
    if mb or mc:

        def mib(m: Mapping[str, Any], key: str) -> str:
            v = fmt.as_float(m.get(key))
            return fmt.MISSING if v is None else f"{v / 2**20:.2f}"

        rows.append(
            {
                "label": "weights, deployed estimate (MiB)",
                "base": mib(mb, "weights_bytes"),
                "cand": mib(mc, "weights_bytes"),
            }
        )
        ctx = mb.get("context") or mc.get("context")
        conc = mb.get("concurrency") or mc.get("concurrency")
        rows.append(
            {
                "label": f"weights + fp16 KV cache at {ctx} tokens × {conc} (MiB)",
                "base": mib(mb, "total_bytes"),
                "cand": mib(mc, "total_bytes"),
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


def _verdict(summary: Mapping[str, Any]) -> tuple[str, str]:
    raw = str(summary.get("verdict", "")).strip().lower()
    if raw not in VERDICTS:
        raise ValueError(f"summary verdict must be one of {sorted(VERDICTS)}, got {raw!r}")
    return VERDICTS[raw]


def build_context(
    summary: Mapping[str, Any], base: pd.DataFrame | None, cand: pd.DataFrame | None
) -> dict[str, Any]:
    """The template's variables for `summary` (see `render_report`)."""
    verdict_text, verdict_class = _verdict(summary)
    slices = [_slice_view(s) for s in summary.get("slices") or []]
    headline = _filled(summary.get("headline"), HEADLINE_KEYS)
    worst = next(
        (s for s in slices if s["slice"] is not None and s["slice"] == headline["worst_slice"]),
        _filled(None, SLICE_KEYS),
    )
    policy = dict(summary.get("policy") or {})
    confidence = fmt.as_float(policy.get("confidence"))
    base_hdr = dict(summary.get("base") or {})
    cand_hdr = dict(summary.get("cand") or {})
    strata = strata_figure(slices)
    examples = None
    if base is not None and cand is not None:
        examples = regressed_examples(base, cand, [str(s.get("slice")) for s in slices])
    return {
        "verdict_text": verdict_text,
        "verdict_class": verdict_class,
        "reasons": [str(r) for r in summary.get("reasons") or []],
        "warnings": [str(w) for w in summary.get("warnings") or []],
        "has_kl": any((r or {}).get("kl_mean") is not None for r in summary.get("slices") or []),
        "headline": headline,
        "worst": worst,
        "ci_label": f"{confidence * 100:g}% CI" if confidence is not None else "CI",
        "n_paired": summary.get("n_paired"),
        "slices": slices,
        "has_strata": strata is not None,
        "forest_html": figure_html(forest_figure(slices), "forest-plot") if slices else None,
        "strata_html": figure_html(strata, "strata-plot") if strata is not None else None,
        "examples": examples,
        "base_variant": fmt.plain(base_hdr.get("variant")),
        "cand_variant": fmt.plain(cand_hdr.get("variant")),
        "metadata": metadata_rows(base_hdr, cand_hdr),
        "perf": perf_rows(base_hdr, cand_hdr),
        "policy_rows": [{"key": k, "value": v} for k, v in flatten(policy).items()],
        "version": __version__,
        "plotly_js": _plotly_bundle(),
    }


def render_report(
    summary: Mapping[str, Any],
    base: pd.DataFrame | None,
    cand: pd.DataFrame | None,
    out_path: Path,
) -> Path:
    """Write the report for `summary` (the summary.json dict) to `out_path`; return that path.

    The file is one self-contained UTF-8 HTML page that works offline: plotly.js is inlined
    once, figures are embedded, and nothing is loaded over the network. Fractions are shown
    as points (x100, one decimal), missing numbers as '—'. When `base` and `cand` (per-item
    results tables) are both given, up to 5 regressed items per slice are shown; all model
    output and every summary string is HTML-escaped. Parent directories are created and the
    file is replaced atomically. Raises ValueError if the verdict is not go / no-go /
    inconclusive, or if a results table lacks item_id, slice, correct or output.
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
