"""The one training loop every framework shares; a framework supplies only an engine.

The loop owns the epoch skeleton: resume from ``state/``, state saving (every epoch, every
``save_every_steps`` and at a Ctrl-C), validation-only model selection, early stopping, the
plateau schedule, the stop rule, the metrics rows (``metrics.jsonl`` and ``on_epoch_end``
through the plugin host), TensorBoard scalars, saving the best model (``on_checkpoint_saved``)
and restoring the best weights at the end. The engine contract is in ``core/docs/engines.md``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from attnzoo.artifact import artifact_of
from attnzoo.interrupts import StopRequest, interrupted
from attnzoo.io import atomic_dir, atomic_write_json
from attnzoo.metrics import compute_metrics
from attnzoo.plugins import call_lifecycle
from attnzoo.progress import EpochProgress, epoch_progress
from attnzoo.trainers.schedules import Plateau
from attnzoo.training import make_early_stopping, prefixed, stop_reason

logger = logging.getLogger(__name__)

TRAINER_FILE = "trainer.json"
#: the keys of ``progress`` the loop owns; the rest is the engine's running sums (``carry``)
POSITION = ("epoch", "step_in_epoch", "global_step")


@dataclass
class EpochPlan:
    """One epoch, as the loop asks an engine to train it."""

    epoch: int
    #: optimizer steps of this epoch already done before a resume: skip their batches
    skip: int
    #: optimizer steps left in the whole run: train at most this many
    remaining: int
    #: the engine's running sums saved with a mid-epoch state ({} at an epoch's start)
    carry: dict[str, Any]
    #: call after every optimizer step with a function returning the running sums so far
    #: (called only when the state is saved); True means: end this epoch now
    on_step: Callable[[Callable[[], dict[str, Any]]], bool]
    #: ``bar(total_batches)``: the progress bar to update per batch, or None
    bar: Callable[[int], EpochProgress | None]


@dataclass
class EpochStats:
    """What an engine reports for the epoch it trained (all processes together)."""

    train_loss: float  # the epoch's mean training loss (resumed epochs: the whole epoch)
    train_accuracy: float  # running accuracy on the training batches, in train mode
    samples: int  # training examples seen in this call
    tokens: int  # non-padding tokens seen in this call (0 without an attention mask)


class Engine(Protocol):
    """The framework-specific part of training (see ``core/docs/engines.md``)."""

    backend: Any  # the Backend that saves the best weights (``save_best_model``)
    is_main: bool  # the one process that writes files
    steps_per_epoch: int  # optimizer steps in one epoch

    def prepare(self, total_steps: int) -> None:
        """Build the optimizer and the per-step schedule for a run of ``total_steps``."""

    def train_epoch(self, plan: EpochPlan) -> EpochStats: ...

    def validation_probabilities(self) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (N, C), labels (N,)) on the validation split, every process's rows."""

    def save_state(self, directory: Path) -> dict[str, Any]:
        """Write model, optimizer and RNG state into ``directory`` (safetensors/JSON/npz only);
        return JSON-able extras, given back to :meth:`load_state`."""

    def load_state(self, directory: Path, extras: dict[str, Any]) -> None: ...

    def learning_rate(self) -> float: ...

    def scale_learning_rate(self, factor: float) -> None:
        """The plateau schedule's hook: multiply the current learning rate by ``factor``."""

    def any_process(self, flag: bool) -> bool:
        """True if ``flag`` is True on any process (all stop at the same step)."""

    def barrier(self) -> None: ...

    def model_to_save(self) -> Any:
        """The model as ``backend.save_weights`` takes it (unwrapped)."""

    def restore_best(self, model_dir: Path) -> None:
        """Load the best weights saved in ``model_dir`` into the training model."""


def fit(run: Any, engine: Engine) -> dict[str, Any]:
    """Train ``engine`` under ``run``; return the summary ``api.report`` reads."""
    from attnzoo.tensorboard import ScalarWriter

    training = _Training(run, engine)
    writer = ScalarWriter(run.tb_dir) if engine.is_main else None
    try:
        with StopRequest() as stop:  # Ctrl-C: finish the step, save state, raise
            training.stop = stop
            while not training.done and training.progress["epoch"] <= training.cfg.epochs:
                training.epoch(writer)
    finally:
        if writer is not None:
            writer.close()
    engine.barrier()
    engine.restore_best(run.model_dir)
    return {
        "best_epoch": training.stopper.best_epoch,
        "best_val": {training.cfg.monitor: training.stopper.best},
        "stop_reason": training.reason or "completed",
        "global_step": training.progress["global_step"],
    }


class _Training:
    """One run's loop state: position, early stopping, plateau, and the saving of all three."""

    def __init__(self, run: Any, engine: Engine) -> None:
        self.run, self.engine, self.cfg = run, engine, run.config.train
        self.total_steps = self.cfg.max_steps or engine.steps_per_epoch * self.cfg.epochs
        engine.prepare(self.total_steps)
        self.stopper = make_early_stopping(self.cfg.monitor, self.cfg.early_stopping_patience)
        self.plateau = (
            Plateau(self.cfg, self.stopper.mode) if self.cfg.scheduler == "plateau" else None
        )
        self.progress: dict[str, Any] = {"epoch": 1, "step_in_epoch": 0, "global_step": 0}
        if run.resumed and (run.state_dir / TRAINER_FILE).exists():
            self.progress = _resume(run, engine, self.stopper, self.plateau)
        #: why training stopped (None: it ran all epochs, or had nothing left to do)
        self.reason: str | None = None
        self.done = self.progress["global_step"] >= self.total_steps or self.stopper.should_stop
        self.stop: StopRequest | None = None

    def _stop_reason(self) -> str | None:
        return stop_reason(
            self.stopper, self.progress["global_step"], self.total_steps, self.cfg.max_steps
        )

    def _stopping(self) -> bool:
        return self.engine.any_process(self.stop is not None and self.stop.requested)

    def save_state(self) -> None:
        def write(tmp: Path) -> None:
            extras = self.engine.save_state(tmp)
            atomic_write_json(
                tmp / TRAINER_FILE,
                {
                    "progress": self.progress,
                    "early_stopping": self.stopper.state_dict(),
                    "plateau": self.plateau.state_dict() if self.plateau is not None else None,
                    "engine": extras,
                },
            )

        if self.engine.is_main:
            atomic_dir(self.run.state_dir, write)
            call_lifecycle("on_checkpoint_saved", run=self.run, path=str(self.run.state_dir))
        self.engine.barrier()

    def on_step(self, running: Callable[[], dict[str, Any]]) -> bool:
        """After an optimizer step: save every ``save_every_steps`` and at a Ctrl-C."""
        progress, every = self.progress, self.cfg.save_every_steps
        progress["global_step"] += 1
        progress["step_in_epoch"] += 1
        stopping = self._stopping()
        if stopping or (every and progress["global_step"] % every == 0):
            progress.update(running())
            self.save_state()
        if stopping:
            raise interrupted(self.run, progress["epoch"], progress["global_step"])
        return bool(progress["global_step"] >= self.total_steps)

    def _plan(self) -> EpochPlan:
        cfg, epoch, show = (
            self.cfg,
            self.progress["epoch"],
            self.cfg.progress and self.engine.is_main,
        )
        return EpochPlan(
            epoch=epoch,
            skip=self.progress["step_in_epoch"],
            remaining=self.total_steps - self.progress["global_step"],
            carry={k: v for k, v in self.progress.items() if k not in POSITION},
            on_step=self.on_step,
            bar=lambda total: epoch_progress(show, epoch, cfg.epochs, total),
        )

    def _validation_groups(self, labels: np.ndarray) -> np.ndarray | None:
        """The validation rows' group ids (users, for gAUC), when the data has a group column."""
        data = getattr(self.engine, "data", None)
        groups = data.groups("validation") if data is not None else None
        return groups if groups is not None and len(groups) == len(labels) else None

    def epoch(self, writer: Any) -> None:
        """Train, validate, select, log and save one epoch; set ``done`` to stop after it."""
        engine, cfg, epoch = self.engine, self.cfg, self.progress["epoch"]
        t0 = time.perf_counter()
        stats = engine.train_epoch(self._plan())
        elapsed = time.perf_counter() - t0
        probs, labels = engine.validation_probabilities()
        groups = self._validation_groups(labels)
        val = compute_metrics(cfg.metrics, labels, probs, groups=groups, loss_config=cfg.loss)
        improved = self.stopper.update(val[cfg.monitor], epoch)
        if self.plateau is not None:
            factor = self.plateau.step(val[cfg.monitor])
            if factor != 1.0:
                engine.scale_learning_rate(factor)
        val.update(summarise(getattr(engine, "validation_summaries", None)))  # epoch_summaries
        row = epoch_row(stats, val, engine.learning_rate(), elapsed, self.progress, improved)
        if engine.is_main:
            if improved:
                save_best_model(self.run, engine)
            self.run.log_epoch(epoch, row)
            call_lifecycle("on_epoch_end", run=self.run, epoch=epoch, metrics=row)
            if writer is not None:
                writer.add_scalars(row, epoch)
        step = self.progress["global_step"]
        self.progress = {"epoch": epoch + 1, "step_in_epoch": 0, "global_step": step}
        self.save_state()
        if self._stopping():
            raise interrupted(self.run, epoch, step)
        self.reason = self._stop_reason()
        self.done = self.reason is not None


def save_best_model(run: Any, engine: Engine) -> Path:
    """Write ``run``'s model folder from the model's own artifact and fire the hook."""
    from attnzoo.checkpoint import write_model_dir

    model = engine.model_to_save()
    path = write_model_dir(run.model_dir, artifact_of(model), model, engine.backend)
    call_lifecycle("on_checkpoint_saved", run=run, path=str(path))
    return path


def epoch_row(
    stats: EpochStats,
    val: dict[str, float],
    lr: float,
    elapsed: float,
    progress: dict[str, Any],
    improved: bool,
) -> dict[str, Any]:
    """One ``metrics.jsonl`` row: the fields every engine's rows carry (validation: ``val_``)."""
    return {
        "train_loss": stats.train_loss,
        "train_accuracy": stats.train_accuracy,
        **prefixed(val, "val"),
        "lr": lr,
        "samples_per_s": stats.samples / max(elapsed, 1e-9),
        "tokens_per_s": stats.tokens / max(elapsed, 1e-9),
        "epoch_seconds": elapsed,
        "global_step": progress["global_step"],
        "best": improved,
    }


def _resume(run: Any, engine: Engine, stopper: Any, plateau: Plateau | None) -> dict[str, Any]:
    """Restore the engine, early stopping and plateau from ``state/``; return the progress."""
    from attnzoo.errors import CheckpointError
    from attnzoo.state import check_state_dir

    check_state_dir(run.state_dir)  # a pickle in state/ is refused, never read
    path = run.state_dir / TRAINER_FILE
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(
            f"{path} is not valid JSON ({exc}): the resume state is damaged."
        ) from None
    engine.load_state(run.state_dir, saved.get("engine") or {})
    stopper.load_state_dict(saved["early_stopping"])
    if plateau is not None and saved.get("plateau"):
        plateau.load_state_dict(saved["plateau"])
    progress: dict[str, Any] = saved["progress"]
    logger.info(
        "Resuming %s at epoch %d, step %d.", run.dir, progress["epoch"], progress["step_in_epoch"]
    )
    return progress


def summarise(values: dict[str, np.ndarray] | None) -> dict[str, float]:
    """``name_mean``, ``name_std``, ``name_min``, ``name_max`` of each per-example validation
    output a model lists in its ``epoch_summaries`` (e.g. MDAF's fusion gate)."""
    out: dict[str, float] = {}
    for name, v in (values or {}).items():
        if v.size:
            stats = {"mean": v.mean(), "std": v.std(), "min": v.min(), "max": v.max()}
            out.update({f"{name}_{k}": float(x) for k, x in stats.items()})
    return out
