"""The Keras engine behind core's shared loop (:mod:`attnzoo.trainers.loop`): Keras 3 ``fit``
under a ``tf.distribute`` strategy, one ``fit`` call per epoch.

It mirrors the torch engine step for step: the same shuffling (the permutation of
``(seed, epoch)`` from ``PreparedData.batches``), the same AdamW recipe (decay on weight
matrices only, global-norm clipping, gradient accumulation), the same schedules
(``attnzoo.trainers.schedules``) and the same losses (``attnzoo.loss_formulas``). A callback
reports every optimizer step to the loop (state saving every ``save_every_steps``, Ctrl-C) and
drives the progress bar. Resume state is every model variable (dropout RNG states included)
and every optimizer variable in ``variables.npz``, so a killed run resumes bit for bit.

``batch_size`` is per device, as in torch, so the global batch is ``batch_size x replicas``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from attnzoo.errors import CheckpointError
from attnzoo.trainers.loop import EpochPlan, EpochStats
from attnzoo.trainers.schedules import lr_factor, warmup_steps
from attnzoo_atrt.backend import INPUT_SPEC, is_chief
from attnzoo_atrt.layers import keras, tf  # Keras on TensorFlow
from attnzoo_atrt.losses import build_loss

logger = logging.getLogger(__name__)

STATE_FILE = "variables.npz"
#: the operations of :func:`attnzoo.trainers.schedules.lr_factor`, on graph tensors
_TF_OPS = SimpleNamespace(minimum=tf.minimum, cos=tf.cos, where=tf.where, pi=math.pi)


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
        counts = {"samples": 0, "tokens": 0}
        dataset = train_dataset(
            self.data, self.global_bs, self.cfg.seed, plan.epoch, skip, limit, counts, self.replicas
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
        # a resumed epoch: combine with the batches trained before the kill (Keras restarted
        # its running means), so the row covers the whole epoch, as in torch
        loss, accuracy = epoch_means(
            plan.carry,
            float(history.history["loss"][-1]),
            float(history.history["accuracy"][-1]),
            counts["samples"],
        )
        return EpochStats(loss, accuracy, counts["samples"], counts["tokens"])

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


def train_dataset(
    data: Any,
    batch_size: int,
    seed: int,
    epoch: int,
    skip: int,
    limit: int,
    counts: dict[str, int],
    replicas: int = 1,
) -> tf.data.Dataset:
    """Batches ``skip .. skip + limit`` of the epoch's shuffled order, as ``(inputs, labels)``.

    Each batch is padded to its own longest sequence (core's ``collate``), so shapes vary:
    ``from_generator`` with ``(None, None)`` specs. ``counts`` receives samples and tokens.
    """

    def generate() -> Any:
        for i, batch in enumerate(
            data.batches("train", batch_size, shuffle=True, seed=seed, epoch=epoch)
        ):
            if i < skip:
                continue
            if i >= skip + limit:
                return
            counts["samples"] += len(batch["labels"])
            counts["tokens"] += int(batch["attention_mask"].sum())
            yield {k: batch[k] for k in INPUT_SPEC}, batch["labels"]

    dataset = tf.data.Dataset.from_generator(
        generate, output_signature=(INPUT_SPEC, tf.TensorSpec((None,), tf.int64))
    ).apply(tf.data.experimental.assert_cardinality(max(limit, 0)))
    if replicas > 1:  # one global batch per step, split across the replicas
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        dataset = dataset.with_options(options)
    return dataset


def _state_variables(model: keras.Model, optimizer: Any) -> list[Any]:
    return [*model.variables, *optimizer.variables]


def write_state(path: Path, model: keras.Model, optimizer: Any) -> None:
    """Every model and optimizer variable, in order, as a pickle-free ``.npz``.

    Not ``tf.train.Checkpoint``: with Keras 3 models it misses the dropout ``SeedGenerator``
    states (and reaches list-held layers only through the optimizer), so a resumed run would
    drift from an uninterrupted one. Variables are matched by position and shape, since Keras
    names seed generators by a per-process counter.
    """
    arrays = {
        f"v{i}": keras.ops.convert_to_numpy(v)
        for i, v in enumerate(_state_variables(model, optimizer))
    }
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def read_state(path: Path, model: keras.Model, optimizer: Any) -> None:
    variables = _state_variables(model, optimizer)
    with np.load(path, allow_pickle=False) as saved:
        if len(saved.files) != len(variables):
            raise CheckpointError(
                f"{path} holds {len(saved.files)} variables but the model and optimizer have "
                f"{len(variables)}: it was written for another model; start without --resume."
            )
        for i, var in enumerate(variables):
            value = saved[f"v{i}"]
            if tuple(value.shape) != tuple(var.shape):
                raise CheckpointError(
                    f"{path}: variable {i} ({var.path}) has shape {value.shape}, "
                    f"expected {tuple(var.shape)}."
                )
            var.assign(value)


class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Core's per-step schedule (:func:`attnzoo.trainers.schedules.lr_factor`) on the Keras
    step; ``step`` counts optimizer updates (Keras passes batches; divided by ``grad_accum``)."""

    def __init__(
        self, base_lr: float, kind: str, warmup: int, total: int, grad_accum: int = 1
    ) -> None:
        self.base_lr, self.kind, self.warmup, self.total = base_lr, kind, warmup, total
        self.grad_accum = grad_accum

    def __call__(self, step: Any) -> tf.Tensor:
        step = tf.cast(tf.cast(step, tf.int64) // self.grad_accum, tf.float32)
        return self.base_lr * lr_factor(step, self.kind, self.warmup, self.total, _TF_OPS)

    def get_config(self) -> dict[str, Any]:
        keys = ("base_lr", "kind", "warmup", "total", "grad_accum")
        return {k: getattr(self, k) for k in keys}


def build_optimizer(model: keras.Model, cfg: Any, total_steps: int) -> keras.optimizers.Optimizer:
    """AdamW as in the torch engine: torch's epsilon, decay on weight matrices only."""
    if cfg.scheduler == "plateau":  # the loop scales the learning rate per epoch
        lr: Any = cfg.lr
    else:
        warmup = warmup_steps(cfg, total_steps)
        lr = WarmupSchedule(cfg.lr, cfg.scheduler, warmup, total_steps, cfg.grad_accum)
    optimizer = keras.optimizers.AdamW(
        learning_rate=lr,
        weight_decay=cfg.weight_decay,
        beta_1=cfg.betas[0],
        beta_2=cfg.betas[1],
        epsilon=1e-8,
        global_clipnorm=cfg.grad_clip,
        gradient_accumulation_steps=cfg.grad_accum if cfg.grad_accum > 1 else None,
    )
    if not cfg.decay_norm_and_bias:
        # biases, norm scales/offsets (ndim < 2) and embedding tables are exempt, as in torch
        exempt = [
            v for v in model.trainable_variables if len(v.shape) < 2 or v.name == "embeddings"
        ]
        optimizer.exclude_from_weight_decay(var_list=exempt)
    return optimizer


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
