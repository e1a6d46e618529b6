"""Ctrl-C during training: the first one asks the trainer to stop after the current step
(it saves resumable state, then raises :class:`TrainingInterrupted`); a second exits at once.

Trainers use it as ``with StopRequest() as stop: ... if stop.requested: ...``. Outside the
main thread (where Python delivers no signals) it changes nothing.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

from attnzoo.errors import TrainingInterrupted

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl-C


class StopRequest:
    """Installs a SIGINT handler for the duration of a ``with`` block."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:  # the second Ctrl-C: the user does not want to wait
            sys.stderr.write("\nInterrupted again: exiting now without saving.\n")
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        self.requested = True
        sys.stderr.write(
            "\nCtrl-C: saving resumable state after the current step (Ctrl-C again to quit now).\n"
        )
        sys.stderr.flush()


def interrupted(run: Any, epoch: int, step: int) -> TrainingInterrupted:
    """The exception a trainer raises once it has saved state for a Ctrl-C."""
    return TrainingInterrupted(
        f"Interrupted at epoch {epoch}, step {step}; resumable state saved in {run.state_dir}.\n"
        f"Resume with: {run.resume_hint()}"
    )
