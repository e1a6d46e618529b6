"""Metrics against hand-computed values; undefined cases are NaN, never an exception."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from attnzoo import metrics
from attnzoo.metrics import compute_metrics


def onehot_probs(pred, n_classes):
    p = np.full((len(pred), n_classes), 0.1 / (n_classes - 1))
    p[np.arange(len(pred)), pred] = 0.9
    return p


Y3 = np.array([0, 1, 2, 1])
P3 = onehot_probs([0, 2, 2, 1], 3)


def test_accuracy_and_f1_by_hand():
    assert metrics.accuracy(Y3, P3) == pytest.approx(0.75)
    # F1 per class: 1 (0), 2/3 (1: P=1, R=1/2), 2/3 (2: P=1/2, R=1)
    assert metrics.macro_f1(Y3, P3) == pytest.approx(7 / 9)
    assert metrics.weighted_f1(Y3, P3) == pytest.approx((1 + 2 * 2 / 3 + 2 / 3) / 4)


def test_macro_f1_counts_predicted_but_absent_classes():
    y = np.array([0, 0])
    p = onehot_probs([0, 1], 3)
    # class 0: P=1, R=1/2 -> 2/3; class 1 predicted, never true -> 0; class 2 absent -> left out
    assert metrics.macro_f1(y, p) == pytest.approx(1 / 3)


def test_cross_entropy_loss_by_hand():
    y = np.array([0, 1])
    p = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]], dtype=np.float32)
    assert metrics.loss(y, p) == pytest.approx(-(math.log(0.5) + math.log(0.8)) / 2, rel=1e-6)


def test_auc_by_hand_with_ties():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    # positive-negative pairs ranked right: (0.35>0.1), (0.8>0.1), (0.8>0.4) of 4
    assert metrics.auc(y, np.stack([1 - s, s], 1)) == pytest.approx(0.75)
    assert metrics.auc(np.array([0, 1]), np.array([[0.5, 0.5], [0.5, 0.5]])) == 0.5
    assert metrics.auc(y, s) == pytest.approx(0.75)  # a 1-d score is the positive class


def test_logloss_by_hand():
    y = np.array([1, 0])
    p = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert metrics.logloss(y, p) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)


def test_confusion_matrix_by_hand():
    cm = metrics.confusion_matrix(Y3, P3.argmax(1), 4)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 0] = expected[1, 2] = expected[2, 2] = expected[1, 1] = 1
    assert cm.dtype == np.int64 and np.array_equal(cm, expected)


def test_gauc_by_hand():
    y = np.array([0, 0, 1, 1, 1, 0, 1, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.5, 0.5, 0.5])
    groups = np.array(["a"] * 4 + ["b"] * 2 + ["c"] * 3)
    # a: AUC 0.75 over 4 impressions; b: AUC 0 over 2; c has one class and is left out
    assert metrics.gauc(y, s, groups) == pytest.approx((0.75 * 4 + 0 * 2) / 6)


def test_gauc_ties_within_a_group_and_matches_per_group_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    n = 3000
    groups = rng.integers(0, 200, n)
    y = (rng.random(n) < 0.3).astype(int)
    s = np.round(rng.random(n) * 0.5 + 0.3 * y, 1)  # coarse scores: many ties
    total = weight = 0.0
    for g in np.unique(groups):
        m = groups == g
        if len(np.unique(y[m])) == 2:
            total += roc_auc_score(y[m], s[m]) * m.sum()
            weight += m.sum()
    assert metrics.gauc(y, np.stack([1 - s, s], 1), groups) == pytest.approx(total / weight)


def test_one_class_and_empty_give_nan_without_warnings():
    y = np.zeros(4, dtype=int)
    p = np.tile([0.7, 0.3], (4, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = compute_metrics(["accuracy", "auc", "logloss", "gauc"], y, p, groups=np.arange(4))
    assert math.isnan(out["auc"]) and math.isnan(out["gauc"])
    assert out["accuracy"] == 1.0 and out["logloss"] == pytest.approx(-math.log(0.7))
    empty = np.zeros(0, dtype=int)
    for fn in (metrics.accuracy, metrics.macro_f1, metrics.loss, metrics.auc, metrics.logloss):
        assert math.isnan(fn(empty, np.zeros((0, 2))))
    assert math.isnan(metrics.gauc(empty, np.zeros((0, 2)), empty))


def test_gauc_is_registered_grouped_and_nan_without_groups():
    from attnzoo.registry import get_metric_spec

    spec = get_metric_spec("gauc")
    assert spec.grouped and spec.higher_is_better
    y = np.array([0, 1, 0, 1])
    p = np.stack([1 - np.array([0.1, 0.9, 0.2, 0.8]), [0.1, 0.9, 0.2, 0.8]], 1)
    assert math.isnan(compute_metrics(["gauc"], y, p)["gauc"])
    assert compute_metrics(["gauc"], y, p, groups=np.array([0, 0, 1, 1]))["gauc"] == 1.0


def test_ctr_defaults_add_gauc_only_with_a_group_column():
    from attnzoo.api import task_train_defaults
    from attnzoo.data import Dataset

    ds = Dataset({}, ["0", "1"], input_kind="tabular", task="ctr")
    assert task_train_defaults("ctr", ds)["metrics"] == ["auc", "logloss"]
    ds.group_column = "user"
    assert task_train_defaults("ctr", ds)["metrics"] == ["auc", "logloss", "gauc"]
    assert "metrics" not in task_train_defaults("text-classification", ds)


def test_auc_multiclass_is_one_vs_rest():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 10)
    p = rng.dirichlet(np.ones(3), 30)
    assert metrics.auc(y, p) == pytest.approx(roc_auc_score(y, p, multi_class="ovr"))
