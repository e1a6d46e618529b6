"""One optimizer step (forward, backward, update), supplied by the framework's engine.

The sweep measures how a model's cost grows with sequence length, not a training recipe:
AdamW at a fixed small learning rate and cross-entropy on the logits (or the model's own
``compute_loss``). A backend supplies the step with ``training_step(model, lr=..., loss=...,
weight_decay=...)`` (see ``core/docs/engines.md``): the torch one is
``attnzoo.trainers.torch_step``, the TensorFlow one ``attnzoo_tensorflow.step``.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from attnzoo.errors import ConfigError


class Stepper(Protocol):
    """One training step on a numpy batch (``labels`` included), returning the loss; an engine
    may add ``gradients(batch) -> {parameter name: array or None}`` for the conformance suite."""

    def step(self, batch: dict[str, np.ndarray]) -> float: ...


def make_stepper(framework: str, model: Any, **settings: Any) -> Stepper:
    """The training step of ``framework``'s backend (``lr``, ``loss``, ``weight_decay``)."""
    from attnzoo.api import get_backend

    backend = get_backend(framework)
    if hasattr(backend, "training_step"):
        return backend.training_step(model, **settings)  # type: ignore[no-any-return]
    raise ConfigError(
        f"The {framework!r} backend supplies no training step, so the scaling sweep (and the "
        "conformance suite's training checks) cannot run it. Give the backend a "
        "training_step(model, lr=..., loss=..., weight_decay=...) returning an object with "
        "step(batch) -> loss (see core/docs/engines.md)."
    )
