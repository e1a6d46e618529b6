"""Metrics on numpy arrays: ``fn(y_true (N,), probs (N, C)) -> float``. No framework import."""

from __future__ import annotations

from typing import Any

import numpy as np


def _pred(probs: np.ndarray) -> np.ndarray:
    return probs.argmax(axis=-1)


def accuracy(y_true: np.ndarray, probs: np.ndarray) -> float:
    return float((_pred(probs) == y_true).mean()) if len(y_true) else float("nan")


def _f1_per_class(y_true: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_classes = probs.shape[-1]
    pred = _pred(probs)
    cm = confusion_matrix(y_true, pred, n_classes)
    tp = np.diag(cm).astype(float)
    precision = np.divide(tp, cm.sum(axis=0), out=np.zeros_like(tp), where=cm.sum(axis=0) > 0)
    recall = np.divide(tp, cm.sum(axis=1), out=np.zeros_like(tp), where=cm.sum(axis=1) > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return f1, cm.sum(axis=1)


def macro_f1(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean F1 over the classes present in ``y_true`` or predicted (sklearn's default)."""
    f1, support = _f1_per_class(y_true, probs)
    present = (support > 0) | np.isin(np.arange(len(f1)), _pred(probs))
    return float(f1[present].mean()) if present.any() else float("nan")


def weighted_f1(y_true: np.ndarray, probs: np.ndarray) -> float:
    f1, support = _f1_per_class(y_true, probs)
    return float((f1 * support).sum() / max(support.sum(), 1))


def loss(y_true: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(probs[np.arange(len(y_true)), y_true], 1e-12, 1.0)
    return float(-np.log(p).mean())


def auc(y_true: np.ndarray, probs: np.ndarray) -> float:
    """ROC AUC of the positive class via the rank statistic (ties get average ranks)."""
    score = probs[:, -1] if probs.ndim == 2 else probs
    pos = y_true == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=float)
    sorted_scores = score[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def logloss(y_true: np.ndarray, probs: np.ndarray) -> float:
    p = np.clip(probs[:, -1] if probs.ndim == 2 else probs, 1e-7, 1 - 1e-7)
    return float(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)).mean())


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true.astype(int), y_pred.astype(int)), 1)
    return cm


def compute_metrics(
    names: list[str], y_true: np.ndarray, probs: np.ndarray, groups: np.ndarray | None = None
) -> dict[str, Any]:
    """Evaluate registered metrics by name; always includes ``loss``.

    A metric registered with ``grouped=True`` (gAUC) is called as ``fn(y, probs, groups)`` and
    is NaN when the data has no group column.
    """
    from attnzoo.registry import get_metric_spec

    out: dict[str, Any] = {}
    for name in dict.fromkeys([*names, "loss"]):
        spec = get_metric_spec(name)
        fn = spec.load_factory()
        if getattr(spec, "grouped", False):
            out[name] = float("nan") if groups is None else fn(y_true, probs, groups)
        else:
            out[name] = fn(y_true, probs)
    return out


def higher_is_better(name: str) -> bool:
    from attnzoo.registry import get_metric_spec

    return get_metric_spec(name).higher_is_better
