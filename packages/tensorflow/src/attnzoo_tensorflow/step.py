"""One training step on a numpy batch, outside the loop: what the scaling sweep times
(``attnzoo bench --scaling``) and what ``ModelConformance`` trains and differentiates with
(``Backend.training_step``, see ``core/docs/engines.md``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from attnzoo.config import LossConfig
from attnzoo_tensorflow.losses import build_loss
from attnzoo_tensorflow.on_tensorflow import keras, tf


class KerasStepper:
    """Forward, backward and an AdamW update of ``model`` with a loss of core's registry."""

    def __init__(
        self, model: keras.Model, *, lr: float = 1e-4, loss: Any = None, weight_decay: float = 0.004
    ) -> None:
        self.model = model
        self.per_example = build_loss(loss if loss is not None else LossConfig())
        self.optimizer = keras.optimizers.AdamW(
            learning_rate=lr, weight_decay=weight_decay, epsilon=1e-8
        )

        @tf.function(reduce_retracing=True)
        def train_step(inputs: dict[str, tf.Tensor], labels: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                loss_value = self._loss(inputs, labels)
            variables = model.trainable_variables
            grads = tape.gradient(loss_value, variables)
            self.optimizer.apply_gradients(zip(grads, variables, strict=True))
            return loss_value

        self._train_step = train_step

    def _loss(self, inputs: dict[str, tf.Tensor], labels: tf.Tensor) -> tf.Tensor:
        out = self.model(inputs, training=True)
        logits = out["logits"] if isinstance(out, dict) else out
        return tf.reduce_mean(self.per_example(labels, logits))

    @staticmethod
    def _tensors(batch: dict[str, np.ndarray]) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        inputs = {k: tf.constant(v) for k, v in batch.items() if k != "labels"}
        return inputs, tf.constant(batch["labels"])

    def step(self, batch: dict[str, np.ndarray]) -> float:
        """One update; returns the batch's mean loss (reading it waits for the device)."""
        return float(self._train_step(*self._tensors(batch)).numpy())

    def gradients(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray | None]:
        """The loss's gradient for every trainable variable (by path), without an update."""
        inputs, labels = self._tensors(batch)
        with tf.GradientTape() as tape:
            loss_value = self._loss(inputs, labels)
        variables = self.model.trainable_variables
        grads = tape.gradient(loss_value, variables)
        return {
            v.path: None if g is None else np.asarray(tf.convert_to_tensor(g))
            for v, g in zip(variables, grads, strict=True)
        }
