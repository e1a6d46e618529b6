"""PNG plots of training curves and confusion matrices (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _figure(**kwargs: Any) -> Any:
    """A figure drawn on its own Agg canvas: no pyplot, so the process's matplotlib backend
    (a notebook's inline plots, a GUI) is left as it was and no global figure is kept open."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def plot_curves(
    rows: list[dict[str, Any]], path: str | Path, title: str = "", loss_name: str = "loss"
) -> Path | None:
    """The training loss beside the validation loss (the same loss, ``loss_name``), and the
    validation metrics per epoch (validation cross-entropy, ``val_ce``, stays in the rows)."""
    if not rows:
        return None
    epochs = [r["epoch"] for r in rows]
    skip = {"val_loss", "val_ce"}
    metric_keys = sorted(
        {
            k
            for r in rows
            for k in r
            if k.startswith("val_") and k not in skip and isinstance(r[k], int | float)
        }
    )
    fig = _figure(figsize=(10, 3.8))
    axes = fig.subplots(1, 2)
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        ys = [r.get(key) for r in rows]
        if any(y is not None for y in ys):
            axes[0].plot(epochs, ys, marker="o", label=label)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel(loss_name)
    axes[0].legend()
    for key in metric_keys:
        axes[1].plot(epochs, [r.get(key) for r in rows], marker="o", label=key.removeprefix("val_"))
    if any(r.get("train_accuracy") is not None for r in rows):
        axes[1].plot(
            epochs,
            [r.get("train_accuracy") for r in rows],
            ls="--",
            color="grey",
            label="train accuracy (running)",
        )
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("metric (validation unless noted)")
    if metric_keys:
        axes[1].legend()
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_confusion(
    cm: np.ndarray, labels: list[str], path: str | Path, title: str = "test confusion matrix"
) -> Path:
    n = len(labels)
    fig = _figure(figsize=(1.0 + 0.6 * n, 0.8 + 0.6 * n))
    ax = fig.subplots()
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                color="white" if cm[i, j] > threshold else "black",
                fontsize=8,
            )
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_roc_and_calibration(
    y_true: np.ndarray, probs: np.ndarray, path: str | Path, title: str = "test"
) -> Path | None:
    """ROC curve and reliability diagram of the positive class (CTR reports)."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_auc_score, roc_curve

    score = probs[:, -1] if probs.ndim == 2 else probs
    if len(np.unique(y_true)) < 2:
        return None
    fig = _figure(figsize=(9, 4))
    ax_roc, ax_cal = fig.subplots(1, 2)
    fpr, tpr, _ = roc_curve(y_true, score)
    ax_roc.plot(fpr, tpr, label=f"AUC {roc_auc_score(y_true, score):.4f}")
    ax_roc.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax_roc.set_xlabel("false positive rate")
    ax_roc.set_ylabel("true positive rate")
    ax_roc.set_title(f"{title} ROC")
    ax_roc.legend(loc="lower right")
    frac_pos, mean_pred = calibration_curve(y_true, score, n_bins=10, strategy="quantile")
    ax_cal.plot(mean_pred, frac_pos, marker="o")
    ax_cal.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax_cal.set_xlabel("mean predicted probability")
    ax_cal.set_ylabel("observed click rate")
    ax_cal.set_title(f"{title} calibration (deciles)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_task_reports(
    task: str, y_true: np.ndarray, probs: np.ndarray, label_names: list[str], run_dir: Path
) -> list[Path]:
    """The test-split pictures ``task`` calls for (:data:`TASK_REPORTS`; default: a confusion
    matrix)."""
    report = TASK_REPORTS.get(task, confusion_report)
    return report(y_true, probs, label_names, run_dir)


def confusion_report(
    y_true: np.ndarray, probs: np.ndarray, label_names: list[str], run_dir: Path
) -> list[Path]:
    """Classification: the test confusion matrix (``confusion.png``)."""
    from attnzoo.metrics import confusion_matrix

    cm = confusion_matrix(y_true, probs.argmax(-1), len(label_names))
    return [plot_confusion(cm, label_names, run_dir / "confusion.png")]


def roc_report(
    y_true: np.ndarray, probs: np.ndarray, label_names: list[str], run_dir: Path
) -> list[Path]:
    """CTR: ROC and calibration curves of the click probability (``roc.png``)."""
    out = plot_roc_and_calibration(y_true, probs, run_dir / "roc.png")
    return [out] if out else []


#: task -> its test-split report; a task not listed gets :func:`confusion_report`. A plugin
#: adding a task adds its report here (and its file names to ``runs.RUN_FOLDER_ENTRIES``).
TASK_REPORTS: dict[str, Callable[[np.ndarray, np.ndarray, list[str], Path], list[Path]]] = {
    "ctr": roc_report,
}
