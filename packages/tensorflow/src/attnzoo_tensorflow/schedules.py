"""Core's one schedule definition (:mod:`attnzoo.trainers.schedules`) as a Keras
``LearningRateSchedule``: the formula is core's, evaluated here on graph tensors."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

from attnzoo.trainers.schedules import lr_factor
from attnzoo_tensorflow.on_tensorflow import keras, tf

#: the operations of :func:`attnzoo.trainers.schedules.lr_factor`, on graph tensors
_TF_OPS = SimpleNamespace(minimum=tf.minimum, cos=tf.cos, where=tf.where, pi=math.pi)


class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Core's per-step schedule (:func:`attnzoo.trainers.schedules.lr_factor`) on the Keras
    step; ``step`` counts optimizer updates (Keras passes batches; divided by ``grad_accum``)."""

    def __init__(
        self, base_lr: float, kind: str, warmup: int, total: int, grad_accum: int = 1
    ) -> None:
        self.base_lr, self.kind, self.warmup, self.total = base_lr, kind, warmup, total
        self.grad_accum = grad_accum

    def __call__(self, step: Any) -> tf.Tensor:
        step = tf.cast(tf.cast(step, tf.int64) // self.grad_accum, tf.float32)
        return self.base_lr * lr_factor(step, self.kind, self.warmup, self.total, _TF_OPS)

    def get_config(self) -> dict[str, Any]:
        keys = ("base_lr", "kind", "warmup", "total", "grad_accum")
        return {k: getattr(self, k) for k in keys}
