"""One optimizer step (forward, backward, update) per framework, for the scaling sweep.

The sweep measures how a model's cost grows with sequence length, not a training recipe:
AdamW at a fixed small learning rate and cross-entropy on the logits (or the model's own
``compute_loss``).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from attnzoo.errors import ConfigError


class Stepper(Protocol):
    def step(self, batch: dict[str, np.ndarray]) -> None: ...


class TorchStepper:
    def __init__(self, model: Any) -> None:
        import torch

        self.torch = torch
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device).train()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4)
        self.own_loss = getattr(model, "compute_loss", None)

    def step(self, batch: dict[str, np.ndarray]) -> None:
        torch = self.torch
        inputs = {
            k: torch.as_tensor(v, device=self.device) for k, v in batch.items() if k != "labels"
        }
        labels = torch.as_tensor(batch["labels"], device=self.device)
        outputs = self.model(**inputs)
        if self.own_loss is not None:
            loss = self.own_loss(outputs, labels)
        else:
            loss = torch.nn.functional.cross_entropy(outputs["logits"].float(), labels)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.synchronize()  # so the step's wall time is the device's time


class KerasStepper:
    def __init__(self, model: Any) -> None:
        import keras
        import tensorflow as tf

        self.tf = tf
        self.model = model
        self.optimizer = keras.optimizers.AdamW(learning_rate=1e-4)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

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

    def step(self, batch: dict[str, np.ndarray]) -> None:
        tf = self.tf
        inputs = {k: tf.constant(v) for k, v in batch.items() if k != "labels"}
        self.train_step(inputs, tf.constant(batch["labels"])).numpy()  # .numpy() waits for the step


_STEPPERS: dict[str, Any] = {"torch": TorchStepper, "tensorflow": KerasStepper}


def make_stepper(framework: str, model: Any) -> Stepper:
    try:
        cls = _STEPPERS[framework]
    except KeyError:
        raise ConfigError(
            f"The scaling sweep has no training step for framework {framework!r} (known: {', '.join(_STEPPERS)})."
        ) from None
    return cls(model)  # type: ignore[no-any-return]
