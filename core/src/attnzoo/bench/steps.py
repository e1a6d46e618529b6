"""One optimizer step (forward, backward, update), supplied by the framework's engine.

The sweep measures how a model's cost grows with sequence length, not a training recipe:
AdamW at a fixed small learning rate and cross-entropy on the logits (or the model's own
``compute_loss``). A backend supplies the step with ``training_step(model, lr=..., loss=...,
weight_decay=...)`` (see ``core/docs/engines.md``); :class:`KerasStepper` stands in for the
Keras backend until it supplies its own.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from attnzoo.errors import ConfigError


class Stepper(Protocol):
    """One training step on a numpy batch (``labels`` included), returning the loss; an engine
    may add ``gradients(batch) -> {parameter name: array or None}`` for the conformance suite."""

    def step(self, batch: dict[str, np.ndarray]) -> float: ...


class KerasStepper:
    """The TensorFlow Keras step (cross-entropy only), until the Keras backend supplies one."""

    def __init__(
        self, model: Any, *, lr: float = 1e-4, loss: Any = None, weight_decay: float = 0.004
    ) -> None:
        import keras
        import tensorflow as tf

        if loss is not None and loss.name != "cross_entropy":
            raise ConfigError(
                f"The Keras training step knows cross_entropy only, not {loss.name!r}; give the "
                "Keras backend a training_step(model, lr=..., loss=..., weight_decay=...)."
            )
        self.tf = tf
        self.model = model
        self.optimizer = keras.optimizers.AdamW(learning_rate=lr, weight_decay=weight_decay)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.loss_fn = loss_fn

        @tf.function(reduce_retracing=True)
        def train_step(inputs: dict[str, tf.Tensor], labels: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                out = model(inputs, training=True)
                logits = out["logits"] if isinstance(out, dict) else out
                loss = loss_fn(labels, logits)
            grads = tape.gradient(loss, model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        self.train_step = train_step

    def step(self, batch: dict[str, np.ndarray]) -> float:
        tf = self.tf
        inputs = {k: tf.constant(v) for k, v in batch.items() if k != "labels"}
        return float(self.train_step(inputs, tf.constant(batch["labels"])).numpy())  # waits

    def gradients(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray | None]:
        tf = self.tf
        inputs = {k: tf.constant(v) for k, v in batch.items() if k != "labels"}
        with tf.GradientTape() as tape:
            out = self.model(inputs, training=True)
            logits = out["logits"] if isinstance(out, dict) else out
            loss = self.loss_fn(tf.constant(batch["labels"]), logits)
        variables = self.model.trainable_variables
        grads = tape.gradient(loss, variables)
        return {
            getattr(v, "path", v.name): None if g is None else np.asarray(tf.convert_to_tensor(g))
            for v, g in zip(variables, grads, strict=True)
        }


#: steps for frameworks whose backend does not supply ``training_step`` (yet)
_FALLBACK_STEPPERS: dict[str, Any] = {"tensorflow": KerasStepper}


def make_stepper(framework: str, model: Any, **settings: Any) -> Stepper:
    """The training step of ``framework``'s backend (``lr``, ``loss``, ``weight_decay``)."""
    from attnzoo.api import get_backend

    backend = get_backend(framework)
    if hasattr(backend, "training_step"):
        return backend.training_step(model, **settings)  # type: ignore[no-any-return]
    if framework in _FALLBACK_STEPPERS:
        return _FALLBACK_STEPPERS[framework](model, **settings)  # type: ignore[no-any-return]
    raise ConfigError(
        f"The {framework!r} backend supplies no training step, so the scaling sweep (and the "
        "conformance suite's training checks) cannot run it. Give the backend a "
        "training_step(model, lr=..., loss=..., weight_decay=...) returning an object with "
        "step(batch) -> loss (see core/docs/engines.md)."
    )
