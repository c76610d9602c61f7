"""Turn simulated outcomes into the validation summary (JSON-ready dict)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from evalcliff.dev.validation.experiment import METHODS, Outcomes
from evalcliff.dev.validation.grid import BAND, Settings, by_informative, cell_row
from evalcliff.stats.reliability import (
    MIN_CLUSTERS,
    MIN_INFORMATIVE_CLUSTERS,
    MIN_INFORMATIVE_ITEMS,
    MIN_ITEMS,
    reliability_problems,
)

NOMINAL_ONE_SIDED = 0.025  # each decision uses one bound of a two-sided 95% CI


def _unwarned(o: Outcomes, margin: float, confidence: float) -> npt.NDArray[np.bool_]:
    """Datasets the gate would not warn about (evalcliff.stats.reliability)."""
    sc = o.scenario
    return np.array(
        [
            not reliability_problems(sc.n, sc.n_clusters, int(k), margin, confidence)
            for k in o.informative
        ]
    )


def _required_summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    req = [r for r in rows if r["required"]]
    out: dict[str, Any] = {"cells": len(req)}
    for m in METHODS:
        cov = np.array([r[f"coverage_{m}"] for r in req])
        verdicts = [r[f"band_{m}"] for r in req]
        out[m] = {
            "in_band": verdicts.count("in"),
            "within_mc_error": verdicts.count("mc"),
            "out": verdicts.count("out"),
            "min": float(cov.min()) if len(cov) else None,
            "max": float(cov.max()) if len(cov) else None,
            "mean_abs_error": float(np.mean(np.abs(cov - 0.95))) if len(cov) else None,
            "datasets_weighted": float(np.mean(cov)) if len(cov) else None,
        }
    return out


def derive_threshold(tables: Sequence[Sequence[dict[str, Any]]], method: str) -> int:
    """Smallest informative-unit count from which every bucket's coverage reaches the band's
    lower edge, in every table given."""
    lows = sorted({r["low"] for t in tables for r in t})
    for low in lows:
        rows = [r for t in tables for r in t if r["low"] >= low and r["datasets"] >= 50]
        if all(r[f"coverage_{method}"] >= BAND[0] for r in rows):
            return int(low)
    return int(lows[-1]) if lows else 0


def _decision_summary(rows: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    unwarned = [r[f"{key}_unwarned"] for r in rows]
    out: dict[str, Any] = {
        "cells": len(rows),
        "nominal": NOMINAL_ONE_SIDED,
        "max_unwarned": max(unwarned) if unwarned else None,
        "cells_above_nominal_unwarned": sum(u > NOMINAL_ONE_SIDED for u in unwarned),
    }
    for m in METHODS:
        rates = np.array([r[f"{key}_{m}"] for r in rows])
        worst = rows[int(np.argmax(rates))] if len(rows) else None
        out[m] = {
            "max": float(rates.max()) if len(rates) else None,
            "mean": float(rates.mean()) if len(rates) else None,
            "cells_above_nominal": int(np.sum(rates > NOMINAL_ONE_SIDED)),
            "worst_cell": None
            if worst is None
            else {k: worst[k] for k in ("n", "clusters", "base_acc", "flip_rate", "delta")},
        }
    return out


def summarize(
    coverage: Sequence[Outcomes],
    at_margin: Sequence[Outcomes],
    power: Sequence[Outcomes],
    plan_checks: Sequence[dict[str, Any]],
    settings: Settings,
) -> dict[str, Any]:
    """Everything the report shows: per-cell rows, the required-region summary, the
    warning rule's evidence, decision error rates and power curves."""
    m = settings.margin
    conf = settings.confidence
    rows = [cell_row(o, m) for o in coverage]
    keeps = [_unwarned(o, m, conf) for o in coverage]
    for o, row, keep in zip(coverage, rows, keeps, strict=True):
        row["unwarned_share"] = float(keep.mean())
        row["coverage_percentile_unwarned"] = (
            float(o.covered("percentile")[keep].mean()) if keep.any() else None
        )
        # A wrong decision the gate makes without a reliability warning next to it.
        row["no_go_unwarned"] = float(np.mean(o.no_go("percentile", m) & keep))
    inf_zero = by_informative(coverage, nonzero_delta=False)
    inf_nonzero = by_informative(coverage, nonzero_delta=True)
    split = {
        f"{name}_{key}": by_informative(coverage, nonzero_delta=nz, clustered=cl)
        for name, cl in (("items", False), ("clusters", True))
        for key, nz in (("delta_zero", False), ("delta_nonzero", True))
    }
    pairs = zip(coverage, keeps, strict=True)
    unwarned_hits = sum(int(o.covered("percentile")[k].sum()) for o, k in pairs)
    unwarned_total = sum(int(k.sum()) for k in keeps)
    margin_rows = [cell_row(o, m) for o in at_margin]
    for o, row in zip(at_margin, margin_rows, strict=True):
        row["go_unwarned"] = float(np.mean(o.go("percentile", m) & _unwarned(o, m, conf)))
    return {
        "settings": settings.__dict__,
        "band": list(BAND),
        "cells": rows,
        "required": _required_summary(rows),
        "informative": {"delta_zero": inf_zero, "delta_nonzero": inf_nonzero, **split},
        "threshold_derived": {
            **{meth: derive_threshold([inf_zero, inf_nonzero], meth) for meth in METHODS},
            **{
                f"percentile_{name}": derive_threshold(
                    [split[f"{name}_delta_zero"], split[f"{name}_delta_nonzero"]], "percentile"
                )
                for name in ("items", "clusters")
            },
        },
        "rule": {
            "min_items": MIN_ITEMS,
            "min_clusters": MIN_CLUSTERS,
            "min_informative_items": MIN_INFORMATIVE_ITEMS,
            "min_informative_clusters": MIN_INFORMATIVE_CLUSTERS,
            "unwarned_datasets": unwarned_total,
            "unwarned_coverage": unwarned_hits / unwarned_total if unwarned_total else None,
        },
        "false_no_go": _decision_summary([r for r in rows if r["delta"] == 0.0], "no_go"),
        "false_go": _decision_summary(margin_rows, "go"),
        "margin_cells": margin_rows,
        "power": [
            {
                "cluster_size": o.scenario.cluster_size,
                "n": o.scenario.n,
                "drop": -o.scenario.delta,
                "p_no_go": float(np.mean(o.no_go("percentile", m))),
                "p_not_go": float(np.mean(~o.go("percentile", m))),
                "p_no_go_bca": float(np.mean(o.no_go("bca", m))),
            }
            for o in power
        ],
        "plan_checks": list(plan_checks),
    }
