"""The learning-rate schedules, written once for every engine.

``lr_factor`` is the per-step multiplier of ``train.lr`` (linear warmup, then constant, linear
or cosine decay). It is written over a small ``ops`` namespace so one definition serves plain
Python numbers (torch's ``LambdaLR``) and graph tensors (a Keras ``LearningRateSchedule``).
:class:`Plateau` is the per-epoch rule (torch's ``ReduceLROnPlateau``: relative threshold
1e-4, no cooldown); the loop applies it through the engine's ``scale_learning_rate``.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

from attnzoo.config import TrainConfig

#: the operations :func:`lr_factor` needs, on Python numbers
PYTHON_OPS = SimpleNamespace(
    minimum=min, cos=math.cos, where=lambda cond, a, b: a if cond else b, pi=math.pi
)


def warmup_steps(cfg: TrainConfig, total_steps: int) -> int:
    return int(cfg.warmup_ratio * total_steps)


def lr_factor(step: Any, kind: str, warmup: int, total: int, ops: Any = PYTHON_OPS) -> Any:
    """The multiplier of the base learning rate after ``step`` optimizer updates."""
    warm = (step + 1.0) / max(1, warmup)
    progress = ops.minimum(1.0, (step - warmup) / max(1, total - warmup))
    if kind == "constant":
        after = 1.0 + 0.0 * progress
    elif kind == "linear":
        after = 1.0 - progress
    else:
        after = 0.5 * (1.0 + ops.cos(ops.pi * progress))
    return ops.where(step < warmup, warm, after)


class Plateau:
    """Multiply the learning rate by ``plateau_factor`` once the monitored validation metric
    has not improved (by a relative 1e-4) for more than ``plateau_patience`` epochs."""

    def __init__(self, cfg: TrainConfig, mode: str) -> None:
        self.mode, self.factor, self.patience = mode, cfg.plateau_factor, cfg.plateau_patience
        self.best = -math.inf if mode == "max" else math.inf
        self.bad_epochs = 0

    def step(self, value: float) -> float:
        """Record this epoch's value; return the factor to scale the learning rate by (1.0: keep)."""
        better = (
            value > self.best * (1 + 1e-4) if self.mode == "max" else value < self.best * (1 - 1e-4)
        )
        if better:
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.bad_epochs = 0
            return self.factor
        return 1.0

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
