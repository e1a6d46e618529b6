"""Core's own plugin: registered through the same hooks as any third-party plugin."""

from __future__ import annotations

from attnzoo.hookspecs import hookimpl
from attnzoo.specs import InputKindSpec, MetricSpec, TrainerSpec


@hookimpl
def register_trainers(registry):  # type: ignore[no-untyped-def]
    registry.add(
        TrainerSpec(
            "torch", "attnzoo.trainers.torch_backend:TorchBackend", "PyTorch + Accelerate trainer"
        )
    )


@hookimpl
def register_input_kinds(registry):  # type: ignore[no-untyped-def]
    for name, factory, desc in INPUT_KINDS:
        registry.add(InputKindSpec(name, factory, desc))


INPUT_KINDS = [
    ("text", "attnzoo.data.processors.text:TextProcessor", "texts or token-id streams"),
    (
        "tabular",
        "attnzoo.data.processors.tabular:TabularProcessor",
        "CTR tables: categorical, numeric and behaviour-sequence fields",
    ),
    ("image", "attnzoo.data.processors.image:ImageProcessor", "images: pixel_values (B, C, H, W)"),
]


@hookimpl
def register_metrics(registry):  # type: ignore[no-untyped-def]
    for name, desc, hib in [
        ("accuracy", "share of correct predictions", True),
        ("macro_f1", "unweighted mean of per-class F1", True),
        ("weighted_f1", "support-weighted mean of per-class F1", True),
        ("loss", "the configured training loss (train.loss) on the predictions", False),
        ("ce", "mean cross-entropy of the predicted probabilities", False),
    ]:
        registry.add(
            MetricSpec(name, f"attnzoo.metrics:{name}", description=desc, higher_is_better=hib)
        )
    registry.add(
        MetricSpec(
            "auc",
            "attnzoo.metrics:auc",
            description="ROC AUC of the positive class",
        )
    )
    registry.add(
        MetricSpec(
            "gauc",
            "attnzoo.metrics:gauc",
            grouped=True,
            description="group AUC: impression-weighted mean of per-group (per-user) ROC AUC",
        )
    )
    registry.add(
        MetricSpec(
            "logloss",
            "attnzoo.metrics:logloss",
            higher_is_better=False,
            description="binary log loss",
        )
    )
