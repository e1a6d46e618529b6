"""The TensorFlow implementation of core's loss registry (:mod:`attnzoo.loss_formulas`).

Each loss returns one value per example (B,); Keras averages them over the global batch
("sum over batch size").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from attnzoo.loss_formulas import loss_formula
from attnzoo_tensorflow.on_tensorflow import tf


class _TensorFlowOps:
    """:class:`attnzoo.loss_formulas.LossOps` on TensorFlow tensors (labels of any int dtype)."""

    def take(self, values: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
        return tf.gather(values, labels, axis=-1, batch_dims=1)

    def sigmoid_bce(self, logit: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        labels = tf.cast(tf.reshape(labels, [-1]), tf.float32)
        return tf.nn.sigmoid_cross_entropy_with_logits(labels, logit)

    def log_softmax(self, logits: tf.Tensor) -> tf.Tensor:
        return tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)

    def exp(self, x: tf.Tensor) -> tf.Tensor:
        return tf.exp(x)

    def mean_classes(self, values: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(values, axis=-1)

    def binary_logit(self, logits: tf.Tensor) -> tf.Tensor:
        logits = tf.cast(logits, tf.float32)
        if logits.shape.rank == 2 and logits.shape[-1] == 2:
            logits = logits[:, 1] - logits[:, 0]
        return tf.reshape(logits, [-1])


TF_OPS = _TensorFlowOps()


def build_loss(cfg: Any) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """The per-example loss ``fn(labels, logits)`` (Keras' argument order) named by ``cfg.name``."""
    formula = loss_formula(cfg)
    return lambda y, logits: formula(TF_OPS, logits, y)


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Class probabilities (N, C): softmax, or sigmoid for a single logit per example."""
    logits = np.asarray(logits, dtype=np.float32)
    if logits.ndim == 1 or logits.shape[-1] == 1:
        p = 1.0 / (1.0 + np.exp(-logits.reshape(-1)))
        return np.stack([1 - p, p], axis=-1)
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
