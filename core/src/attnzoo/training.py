"""Framework-neutral pieces every trainer shares: model selection on validation only."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EarlyStopping:
    """Tracks the monitored validation metric; decides improvement and stopping.

    ``monitor`` is a validation metric name (``accuracy``, ``macro_f1``, ``loss`` ...); ``mode``
    is ``"max"`` or ``"min"``. ``patience=None`` never stops early.
    """

    monitor: str
    mode: str
    patience: int | None
    best: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list[float] = field(default_factory=list)

    def update(self, value: float, epoch: int) -> bool:
        """Record this epoch's value; True if it is a new best."""
        self.history.append(value)
        if math.isnan(value):
            improved = False
        elif self.best is None:
            improved = True
        else:
            improved = value > self.best if self.mode == "max" else value < self.best
        if improved:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:
            self.bad_epochs += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def stop_reason(
    stopper: EarlyStopping, global_step: int, total_steps: int, max_steps: int | None
) -> str | None:
    """Why training should stop after this epoch, or None to go on (shared by every backend)."""
    if stopper.should_stop:
        return f"early stopping: no {stopper.monitor} improvement for {stopper.bad_epochs} epochs"
    if global_step >= total_steps:
        return "max_steps reached" if max_steps else "completed"
    return None


def make_early_stopping(monitor: str, patience: int | None) -> EarlyStopping:
    from attnzoo.metrics import higher_is_better

    return EarlyStopping(monitor, "max" if higher_is_better(monitor) else "min", patience)


def prefixed(metrics: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {f"{prefix}_{k}": v for k, v in metrics.items()}
