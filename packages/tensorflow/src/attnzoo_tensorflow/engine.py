"""The Keras engine behind core's shared loop (:mod:`attnzoo.trainers.loop`): Keras 3 ``fit``
under a ``tf.distribute`` strategy, one ``fit`` call per epoch.

It mirrors the torch engine step for step: the same shuffling (the permutation of
``(seed, epoch)`` from ``PreparedData.batches``), the same AdamW recipe (decay on weight
matrices only, global-norm clipping, gradient accumulation), the same schedules
(``attnzoo.trainers.schedules``, adapted in ``schedules.py``) and the same losses
(``attnzoo.loss_formulas``, on TensorFlow in ``losses.py``). A callback
reports every optimizer step to the loop (state saving every ``save_every_steps``, Ctrl-C) and
drives the progress bar. Resume state is every model variable (dropout RNG states included)
and every optimizer variable in ``variables.npz``, so a killed run resumes bit for bit.

``train.batch_size`` is per replica, as in torch (where it is per process, one device each), so
the global batch is ``batch_size x replicas`` and a run means the same on one device and on N.
Keras' own convention is the global batch: the dataset yields global batches and
``tf.distribute`` splits each across the replicas. The loss is the mean over the global batch
(Keras scales each replica's mean by ``1 / replicas``; exact when a batch splits evenly), and
the gradients are summed over the replicas before clipping (``optim.GlobalNormAdamW``).
Validation runs on one device, at ``eval_batch_size`` (default ``2 x batch_size``).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from attnzoo.trainers.loop import EpochPlan, EpochStats
from attnzoo_tensorflow.data import train_dataset
from attnzoo_tensorflow.distribute import is_chief
from attnzoo_tensorflow.losses import build_loss
from attnzoo_tensorflow.on_tensorflow import keras, tf
from attnzoo_tensorflow.optim import build_optimizer
from attnzoo_tensorflow.state import STATE_FILE, read_state, write_state

logger = logging.getLogger(__name__)


class KerasEngine:
    """:class:`attnzoo.trainers.loop.Engine` for a built ``keras.Model``."""

    def __init__(self, backend: Any, cfg: Any, model: keras.Model, data: Any) -> None:
        _warn_about_torch_options(cfg)
        keras.utils.set_random_seed(cfg.seed)
        if cfg.deterministic:
            tf.config.experimental.enable_op_determinism()
        self.backend, self.cfg, self.model, self.data = backend, cfg, model, data
        self.strategy = backend.strategy
        self.is_main = is_chief(self.strategy)
        self.replicas = self.strategy.num_replicas_in_sync
        _check_grad_accum(cfg, self.replicas)
        self.global_bs = cfg.batch_size * self.replicas
        self.n_train = data.num_examples("train")
        self.batches_per_epoch = math.ceil(self.n_train / self.global_bs)
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / cfg.grad_accum)

    def prepare(self, total_steps: int) -> None:
        with self.strategy.scope():
            self.optimizer = build_optimizer(self.model, self.cfg, total_steps)
            self.model.compile(
                optimizer=self.optimizer,
                loss=build_loss(self.cfg.loss),
                # running accuracy on the training batches (train mode), as Keras reports it
                metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                jit_compile=False,
            )
            self.optimizer.build(self.model.trainable_variables)

    def train_epoch(self, plan: EpochPlan) -> EpochStats:
        ga = self.cfg.grad_accum
        skip = plan.skip * ga  # batches already trained on
        limit = min(self.batches_per_epoch - skip, plan.remaining * ga)
        sizes: dict[int, tuple[int, int]] = {}  # (examples, tokens) by batch index
        dataset = train_dataset(
            self.data, self.global_bs, self.cfg.seed, plan.epoch, skip, limit, sizes, self.replicas
        )
        steps = StepCallback(plan, ga, plan.bar(limit), self.global_bs, self.n_train)
        history = self.model.fit(
            dataset,
            epochs=plan.epoch,
            initial_epoch=plan.epoch - 1,
            shuffle=False,
            verbose=0,
            callbacks=[steps],
        )
        trained = [sizes[i] for i in range(skip, skip + steps.batches)]
        samples, tokens = sum(n for n, _ in trained), sum(t for _, t in trained)
        # a resumed epoch: combine with the batches trained before the kill (Keras restarted
        # its running means), so the row covers the whole epoch, as in torch
        loss, accuracy = epoch_means(
            plan.carry,
            float(history.history["loss"][-1]),
            float(history.history["accuracy"][-1]),
            samples,
        )
        return EpochStats(loss, accuracy, samples, tokens)

    def validation_probabilities(self) -> tuple[np.ndarray, np.ndarray]:
        eval_bs = self.cfg.eval_batch_size or 2 * self.cfg.batch_size
        probs = self.backend.predict_proba(self.model, self.data.batches("validation", eval_bs))
        return probs, self.data.labels["validation"]

    def save_state(self, directory: Path) -> dict[str, Any]:
        write_state(directory / STATE_FILE, self.model, self.optimizer)
        return {"lr": self.learning_rate()} if self.cfg.scheduler == "plateau" else {}

    def load_state(self, directory: Path, extras: dict[str, Any]) -> None:
        read_state(directory / STATE_FILE, self.model, self.optimizer)
        if "lr" in extras:
            self.optimizer.learning_rate = extras["lr"]

    def learning_rate(self) -> float:
        return float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))

    def scale_learning_rate(self, factor: float) -> None:
        self.optimizer.learning_rate = self.learning_rate() * factor

    def any_process(self, flag: bool) -> bool:
        return flag

    def barrier(self) -> None:
        """Keras' collectives synchronise the workers; nothing to wait for here."""

    def model_to_save(self) -> keras.Model:
        return self.model

    def restore_best(self, model_dir: Path) -> None:
        self.backend.load_weights(self.model, model_dir)


def _warn_about_torch_options(cfg: Any) -> None:
    if cfg.mixed_precision != "no":
        # The policy must be set before the model is built, which core does before fit.
        logger.warning(
            "mixed_precision=%s is not supported by the tensorflow backend; training in float32.",
            cfg.mixed_precision,
        )
    if cfg.compile:
        logger.warning(
            "train.compile is a torch option; the tensorflow backend runs tf.function graphs "
            "without XLA."
        )
    if cfg.num_workers:
        logger.info(
            "train.num_workers is ignored by the tensorflow backend (tf.data reads the batches)."
        )


def _check_grad_accum(cfg: Any, replicas: int) -> None:
    """Keras 3's gradient accumulation updates inside a ``cond``, where ``tf.distribute`` cannot
    synchronise the replicas: refuse it up front instead of failing in the first step."""
    if cfg.grad_accum > 1 and replicas > 1:
        from attnzoo.errors import ConfigError

        raise ConfigError(
            f"train.grad_accum={cfg.grad_accum} does not work with {replicas} replicas in the "
            "tensorflow engine (Keras 3 cannot accumulate gradients under a multi-replica "
            "tf.distribute strategy). Set train.grad_accum=1 and raise train.batch_size (per "
            "replica), or train on one device."
        )


def epoch_means(
    before: dict[str, Any], loss: float, accuracy: float, samples: int
) -> tuple[float, float]:
    """The whole epoch's train loss and accuracy: Keras' means over this ``fit`` call's
    ``samples``, merged with ``before``, the sums a mid-epoch resume carried in (Keras weights
    both by batch size)."""
    seen = before.get("seen", 0)
    if not seen:
        return loss, accuracy
    n = seen + samples
    return (
        (before["loss_sum"] + loss * samples) / n,
        (before["correct"] + accuracy * samples) / n,
    )


class StepCallback(keras.callbacks.Callback):
    """Reports every optimizer step to the loop, stops on a non-finite loss, drives the bar."""

    def __init__(
        self, plan: EpochPlan, grad_accum: int, bar: Any, batch_size: int, n_train: int
    ) -> None:
        super().__init__()
        self.plan, self.grad_accum, self.bar = plan, grad_accum, bar
        self.batch_size, self.n_train = batch_size, n_train  # the last batch may be smaller
        self.skip = plan.skip * grad_accum  # batches of this epoch before a resume
        self.before = {k: plan.carry.get(k, 0) for k in ("loss_sum", "correct", "seen")}
        self.batches = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        loss = float(logs.get("loss", 0.0))
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"Loss became {loss} at epoch {self.plan.epoch}: lower train.lr or enable "
                "train.grad_clip."
            )
        self.batches += 1
        if self.batches % self.grad_accum == 0:
            self.plan.on_step(lambda: self._running_sums(logs))
        if self.bar is not None:
            self.bar.update(loss, self.batch_size)

    def _running_sums(self, logs: dict[str, Any]) -> dict[str, Any]:
        """The epoch's running loss/accuracy so far as sums over samples, saved with the state
        so a resume continues them (see :func:`epoch_means`)."""
        total = self.skip + self.batches
        done = min(total * self.batch_size, self.n_train) - min(
            self.skip * self.batch_size, self.n_train
        )
        return {
            "loss_sum": self.before["loss_sum"] + float(logs.get("loss", 0.0)) * done,
            "correct": self.before["correct"] + float(logs.get("accuracy", 0.0)) * done,
            "seen": self.before["seen"] + done,
        }

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.bar is not None:
            self.bar.close()
