"""Metrics on numpy arrays: ``fn(y_true (N,), probs (N, C)) -> float``, from scikit-learn.

Grouped metrics (gAUC) take a third argument, an int group id per row. Every metric returns
NaN rather than raising where it is undefined (no rows; a single class for AUC). No framework
import.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

NAN = float("nan")


def _pred(probs: np.ndarray) -> np.ndarray:
    return np.asarray(probs).argmax(axis=-1)


def _probs(probs: np.ndarray) -> np.ndarray:
    """``(N, C)`` float64 rows summing to one (float32 softmax is off by a few ulps)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:
        p = np.stack([1 - p, p], axis=1)
    return p / p.sum(axis=1, keepdims=True)


def _positive_score(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    return p[:, -1] if p.ndim == 2 else p


def accuracy(y_true: np.ndarray, probs: np.ndarray) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y_true, _pred(probs))) if len(y_true) else NAN


def _f1(y_true: np.ndarray, probs: np.ndarray, average: str) -> float:
    """F1 over the classes present in ``y_true`` or predicted (scikit-learn's labels)."""
    from sklearn.metrics import f1_score

    if not len(y_true):
        return NAN
    return float(f1_score(y_true, _pred(probs), average=average, zero_division=0))


def macro_f1(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y_true`` or predicted."""
    return _f1(y_true, probs, "macro")


def weighted_f1(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Per-class F1 weighted by each class's support in ``y_true``."""
    return _f1(y_true, probs, "weighted")


def ce(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean cross-entropy of the probabilities given to the true classes."""
    return loss(y_true, probs)


def loss(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean cross-entropy of the probabilities given to the true classes (``compute_metrics``
    replaces it with the configured training loss when it has one)."""
    from sklearn.metrics import log_loss

    if not len(y_true):
        return NAN
    p = _probs(probs)
    return float(log_loss(y_true, p, labels=np.arange(p.shape[1])))


def auc(y_true: np.ndarray, probs: np.ndarray) -> float:
    """ROC AUC of the positive class (one-vs-rest macro AUC for more than two classes);
    NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true)
    if len(np.unique(y)) < 2:
        return NAN
    p = np.asarray(probs)
    try:
        if p.ndim == 2 and p.shape[1] > 2:
            return float(
                roc_auc_score(y, _probs(p), multi_class="ovr", labels=np.arange(p.shape[1]))
            )
        return float(roc_auc_score(y, _positive_score(p)))
    except ValueError:  # a class of the ovr average absent from y_true
        return NAN


def logloss(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Binary log loss of the positive-class probability."""
    from sklearn.metrics import log_loss

    if not len(y_true):
        return NAN
    p = np.clip(_positive_score(probs), 1e-7, 1 - 1e-7)
    return float(log_loss(y_true, p, labels=[0, 1]))


def gauc(y_true: np.ndarray, probs: np.ndarray, groups: np.ndarray) -> float:
    """Group AUC: the mean of each group's ROC AUC weighted by its number of rows
    (impressions), over the groups that hold both classes; NaN when none does.

    Vectorised: one sort by (group, score), average ranks for ties within a group, and the
    Mann-Whitney statistic per group, so a million users cost one sort, not a million calls.
    """
    y = np.asarray(y_true).astype(bool).reshape(-1)
    score = _positive_score(probs).reshape(-1)
    g = np.asarray(groups).reshape(-1)
    if not len(y):
        return NAN
    _, gid = np.unique(g, return_inverse=True)
    gid = gid.reshape(-1)
    order = np.lexsort((score, gid))
    gs, ss, ys = gid[order], score[order], y[order]
    n = len(ys)
    # runs of equal (group, score): each member gets the run's average position
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = (gs[1:] != gs[:-1]) | (ss[1:] != ss[:-1])
    run_id = np.cumsum(new_run) - 1
    pos = np.arange(n, dtype=np.float64)
    run_mean = np.bincount(run_id, weights=pos) / np.bincount(run_id)
    group_start = np.zeros(gid.max() + 1, dtype=np.float64)
    first = np.ones(n, dtype=bool)
    first[1:] = gs[1:] != gs[:-1]
    group_start[gs[first]] = pos[first]
    ranks = run_mean[run_id] - group_start[gs] + 1  # 1-based rank within the group
    n_groups = gid.max() + 1
    n_pos = np.bincount(gs, weights=ys, minlength=n_groups)
    n_all = np.bincount(gs, minlength=n_groups).astype(np.float64)
    n_neg = n_all - n_pos
    rank_sum = np.bincount(gs, weights=ranks * ys, minlength=n_groups)
    both = (n_pos > 0) & (n_neg > 0)
    if not both.any():
        return NAN
    aucs = (rank_sum[both] - n_pos[both] * (n_pos[both] + 1) / 2) / (n_pos[both] * n_neg[both])
    weights = n_all[both]
    return float((aucs * weights).sum() / weights.sum())


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` counts: rows are true classes, columns predicted ones."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    if not len(y_true):
        return np.zeros((n_classes, n_classes), dtype=np.int64)
    cm = sk_confusion_matrix(
        np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int), labels=range(n_classes)
    )
    return cm.astype(np.int64)


def compute_metrics(
    names: list[str],
    y_true: np.ndarray,
    probs: np.ndarray,
    groups: np.ndarray | None = None,
    loss_config: Any = None,
) -> dict[str, Any]:
    """Evaluate registered metrics by name; always includes ``loss`` and ``ce``.

    ``ce`` is the mean cross-entropy; ``loss`` is the configured training loss ``loss_config``
    (a :class:`attnzoo.config.LossConfig`) on the same predictions, so that ``val_loss`` and
    ``train_loss`` are the same loss (cross-entropy without a config). A metric registered
    with ``grouped=True`` (gAUC) is called as ``fn(y, probs, groups)`` and is NaN when the data
    has no group column. A metric's scikit-learn warnings (an undefined value on a split with
    one class) are silenced: the value is NaN and says so.
    """
    from attnzoo.registry import get_metric_spec

    out: dict[str, Any] = {}
    for name in dict.fromkeys([*names, "loss", "ce"]):
        spec = get_metric_spec(name)
        fn = spec.load_factory()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            if getattr(spec, "grouped", False):
                out[name] = NAN if groups is None else fn(y_true, probs, groups)
            else:
                out[name] = fn(y_true, probs)
    if loss_config is not None and loss_config.name != "cross_entropy":
        from attnzoo.loss_formulas import loss_from_probabilities

        out["loss"] = loss_from_probabilities(loss_config, y_true, probs)
    return out


def higher_is_better(name: str) -> bool:
    from attnzoo.registry import get_metric_spec

    return get_metric_spec(name).higher_is_better
