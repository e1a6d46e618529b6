"""Verify an export against the model it came from, on the run's test split.

Both see the same encoded examples in the same batches (the export through its own processor
files). The report gives the largest |difference| of any class probability, how often the
predicted labels agree, and every metric of the run for both with their difference. Defaults:
an fp32 export passes within 1e-4 of every probability; an int8 export within one accuracy
point (the run's monitored metric where the task has no accuracy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FP32_TOLERANCE = 1e-4
INT8_TOLERANCE = 0.01


def default_tolerance(quantization: str | None) -> float:
    return INT8_TOLERANCE if quantization else FP32_TOLERANCE


def run_test_split(run_dir: Path) -> tuple[Any, Any]:
    """The run's config and its dataset with the splits the run used."""
    from attnzoo.api import prepare_dataset
    from attnzoo.runs import load_run_config

    cfg = load_run_config(run_dir)
    return cfg, prepare_dataset(cfg)


def compare(
    reference: np.ndarray,
    exported: np.ndarray,
    labels: np.ndarray,
    *,
    metrics: list[str],
    groups: np.ndarray | None = None,
    quantization: str | None = None,
    tolerance: float | None = None,
    monitor: str = "accuracy",
) -> dict[str, Any]:
    """The verification report of two (N, C) probability arrays on the same examples."""
    from attnzoo.metrics import compute_metrics

    tol = default_tolerance(quantization) if tolerance is None else float(tolerance)
    if reference.shape != exported.shape:
        return {
            "passed": False,
            "reason": f"the export returned shape {exported.shape}, the original {reference.shape}",
        }
    diff = np.abs(reference.astype(np.float64) - exported.astype(np.float64))
    agree = float(np.mean(reference.argmax(1) == exported.argmax(1))) if len(labels) else 1.0
    orig = compute_metrics(metrics, labels, reference, groups=groups)
    expo = compute_metrics(metrics, labels, exported, groups=groups)
    delta = {k: float(expo[k] - orig[k]) for k in orig}
    report: dict[str, Any] = {
        "num_examples": len(labels),
        "max_abs_diff_probability": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff_probability": float(diff.mean()) if diff.size else 0.0,
        "label_agreement": agree,
        "metrics_original": orig,
        "metrics_export": expo,
        "metrics_delta": delta,
        "quantization": quantization,
    }
    if quantization:
        key = "accuracy" if "accuracy" in orig else monitor
        drop = -delta[key] if key in delta else float("nan")
        report.update(check=f"{key} drop <= {tol}", tolerance=tol, passed=bool(drop <= tol + 1e-12))
        report["reason"] = (
            f"{key} changed by {delta.get(key, float('nan')):+.4f} (allowed drop {tol})"
        )
    else:
        worst = report["max_abs_diff_probability"]
        report.update(
            check=f"max |delta probability| <= {tol}", tolerance=tol, passed=bool(worst <= tol)
        )
        report["reason"] = f"max |delta probability| {worst:.3g} (allowed {tol:g})"
    return report


def verify_export(
    loaded: Any,
    export_dir: Path,
    run_dir: Path,
    *,
    quantization: str | None,
    tolerance: float | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Run the original and the export on the run's test split; return the report."""
    from attnzoo.data.prepare import encoded_batches
    from attnzoo.export.runtime import load_export

    cfg, ds = run_test_split(run_dir)
    table = ds.splits["test"]
    enc = loaded.processor.encode(table, label_column=ds.label_column, group_column=ds.group_column)
    assert enc.labels is not None
    reference = loaded.backend.predict_proba(
        loaded.model, encoded_batches(loaded.processor, enc, batch_size)
    )
    exported = load_export(export_dir, allow_unverified=True)
    enc_e = exported.processor.encode(table, label_column=None)
    probs = exported.backend.predict_proba(
        exported.model, encoded_batches(exported.processor, enc_e, batch_size)
    )
    report = compare(
        reference,
        probs,
        enc.labels,
        metrics=list(cfg.train.metrics),
        groups=enc.groups,
        quantization=quantization,
        tolerance=tolerance,
        monitor=cfg.train.monitor,
    )
    return {"split": "test", "dataset": cfg.dataset, **report}
