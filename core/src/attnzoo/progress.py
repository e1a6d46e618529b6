"""The per-epoch training progress bar every backend shows (rich, transient)."""

from __future__ import annotations

import time


class EpochProgress:
    """``epoch 2/5 ━━━━━━ 31/56 loss 0.4123  812.4 samples/s  0:00:07``."""

    def __init__(self, epoch: int, epochs: int, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn(f"epoch {epoch}/{epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  {task.fields[rate]:.1f} samples/s"),
            TimeRemainingColumn(),
            transient=True,
        )
        self.task = self.progress.add_task("train", total=total, loss=float("nan"), rate=0.0)
        self.samples = 0
        self.t0 = time.perf_counter()
        self.progress.start()

    def update(self, loss: float, batch_size: int = 0) -> None:
        """One batch done: its loss and (optionally) how many examples it held."""
        self.samples += batch_size
        rate = self.samples / max(time.perf_counter() - self.t0, 1e-9)
        self.progress.update(self.task, advance=1, loss=loss, rate=rate)

    def close(self) -> None:
        self.progress.stop()


def epoch_progress(enabled: bool, epoch: int, epochs: int, total: int) -> EpochProgress | None:
    return EpochProgress(epoch, epochs, total) if enabled else None
