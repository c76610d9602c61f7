"""Log a drift review to MLflow: an optional extra (`pip install mlflow`), never required."""

from __future__ import annotations

import importlib
from typing import Any

from evalcliff.drift.model import DRIFT_EXIT_CODES, DriftReport
from evalcliff.errors import EvalcliffError


def require_mlflow() -> Any:
    """The mlflow module; EvalcliffError saying how to install it when it is missing."""
    try:
        return importlib.import_module("mlflow")
    except ImportError:
        raise EvalcliffError(
            "--mlflow: the mlflow package is not installed; `pip install mlflow` "
            "(an optional extra, not needed otherwise)"
        ) from None


def log_report(report: DriftReport) -> None:
    """One MLflow run per review: status and per-slice delta/CI as metrics, run ids and
    tags as params, drift.json as an artifact (dict)."""
    mlflow = require_mlflow()
    with mlflow.start_run(run_name=f"drift-{report.run.variant}-{report.run.id}"):
        mlflow.log_params({"variant": report.run.variant, "run": report.run.id,
                           "baseline": report.baseline.id, "status": report.status})  # fmt: skip
        metrics = {"status_code": float(DRIFT_EXIT_CODES[report.status]),
                   "baseline_age_days": report.baseline_age_days}  # fmt: skip
        for s in report.slices:
            for key in ("delta", "ci_low", "ci_high"):
                value = getattr(s, key)
                if value is not None:
                    metrics[f"{s.slice}.{key}"] = float(value)
            metrics[f"{s.slice}.alarm"] = float(s.alarm)
        mlflow.log_metrics(metrics)
        mlflow.log_dict(report.model_dump(mode="json"), "drift.json")
