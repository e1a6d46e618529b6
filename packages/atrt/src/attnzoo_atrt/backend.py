"""The ``tensorflow`` training backend: Keras 3 ``fit`` under a ``tf.distribute`` strategy.

It implements :class:`attnzoo.backend.Backend` for any Keras model that follows the attnzoo
Keras contract (``Model(config)``; ``call({"input_ids", "attention_mask"}, training)`` returns
logits), and mirrors core's torch backend step for step:

- the same shuffling (the permutation of ``(seed, epoch)`` from ``PreparedData.batches``),
  the same AdamW recipe (decay on weight matrices only, global-norm clipping, gradient
  accumulation), the same schedules (cosine / linear / constant with warmup, plateau), the
  same losses (``attnzoo_atrt.losses``);
- one Keras ``fit`` call per epoch, so an epoch's data (including the rest of an epoch cut
  short by a kill) is exactly defined, and a callback counts steps, saves resume state every
  ``save_every_steps`` and drives the progress bar;
- validation after every epoch with core's metric functions, early stopping and best-model
  selection on ``train.monitor`` (validation only), ``run.log_epoch`` (metrics.jsonl and
  ``on_epoch_end``), ``run.save_model`` (model/ with config.json + model.weights.h5 and
  ``on_checkpoint_saved``), TensorBoard scalars in ``tb/``;
- resume state in ``state/`` (every model variable, dropout RNG states included, and every
  optimizer variable in ``variables.npz``, plus ``trainer.json``), written atomically after
  every epoch and every ``save_every_steps``, so a killed run resumes bit for bit;
- the best weights restored at the end; core then evaluates test once.

Strategy: ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names several workers,
``MirroredStrategy`` with more than one GPU, else the default (one device). ``batch_size`` is
per device, as in the torch backend, so the global batch is ``batch_size x replicas``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from attnzoo.errors import CheckpointError
from attnzoo.interrupts import StopRequest, interrupted
from attnzoo.io import atomic_dir, atomic_write, atomic_write_json
from attnzoo.metrics import compute_metrics
from attnzoo.progress import EpochProgress, epoch_progress
from attnzoo.training import make_early_stopping, prefixed, stop_reason
from attnzoo_atrt.layers import keras, tf  # pins KERAS_BACKEND=tensorflow
from attnzoo_atrt.losses import build_loss, probabilities

logger = logging.getLogger(__name__)

STATE_FILE = "variables.npz"
_PREDICT_FNS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_INPUT_SPEC = {
    "input_ids": tf.TensorSpec((None, None), tf.int64),
    "attention_mask": tf.TensorSpec((None, None), tf.int64),
}


def make_strategy() -> tf.distribute.Strategy:
    """The strategy for this process (see the module docstring)."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    if len(tf_config.get("cluster", {}).get("worker", [])) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the one process that writes files (every process but MWMS's other workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )


def dummy_batch() -> dict[str, tf.Tensor]:
    ids = tf.ones([1, 2], dtype=tf.int64)
    return {"input_ids": ids, "attention_mask": tf.ones_like(ids)}


class TensorFlowBackend:
    """:class:`attnzoo.backend.Backend` for Keras 3 models on TensorFlow."""

    framework = "tensorflow"
    weights_file = "model.weights.h5"

    def __init__(self) -> None:
        self._strategy: tf.distribute.Strategy | None = None

    @property
    def strategy(self) -> tf.distribute.Strategy:
        if self._strategy is None:
            self._strategy = make_strategy()
        return self._strategy

    def seed(self, seed: int) -> None:
        """Seed Python, numpy, TensorFlow and Keras (called by core before the model is built)."""
        keras.utils.set_random_seed(seed)

    # -- building, saving, loading ------------------------------------------------------
    def build_model(self, spec: Any, config: Any) -> keras.Model:
        """Build under the strategy's scope and create every variable with a dummy batch."""
        with self.strategy.scope():
            model = spec.load_factory()(config)
            if not isinstance(model, keras.Model):
                raise TypeError(
                    f"{spec.factory} built a {type(model).__name__}, not a keras.Model."
                )
            model(dummy_batch(), training=False)
        return model

    def save_weights(self, model: keras.Model, model_dir: Path) -> Path:
        """``model.save_weights`` to a temp name, then rename (Keras needs the ``.weights.h5`` suffix)."""
        path = Path(model_dir) / self.weights_file
        # Keras insists on the ``.weights.h5`` suffix, so the temp name keeps it
        atomic_write(
            path, lambda tmp: model.save_weights(tmp, overwrite=True), suffix=".weights.h5"
        )
        return path

    def load_weights(self, model: keras.Model, model_dir: Path) -> None:
        """``load_weights`` into a built model; HDF5 arrays only, nothing is executed."""
        path = Path(model_dir) / self.weights_file
        if not path.exists():
            raise CheckpointError(f"{path} is missing: the model folder is incomplete.")
        if not model.built:
            model(dummy_batch(), training=False)
        try:
            model.load_weights(str(path))
        except ValueError as exc:
            raise CheckpointError(
                f"{path} does not match the model built from config.json: {exc}"
            ) from exc

    def num_parameters(self, model: keras.Model) -> int:
        return int(sum(np.prod(v.shape) for v in model.trainable_variables))

    def predict_proba(self, model: keras.Model, batches: Any) -> np.ndarray:
        """Class probabilities (N, C) for numpy batches, in order (``labels`` are ignored)."""
        fn = _predict_fn(model)
        out = []
        for batch in batches:
            inputs = {
                k: tf.convert_to_tensor(np.asarray(batch[k], dtype=np.int64)) for k in _INPUT_SPEC
            }
            out.append(probabilities(fn(inputs).numpy()))
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)

    # -- training -----------------------------------------------------------------------
    def fit(self, run: Any, model: keras.Model, data: Any) -> dict[str, Any]:
        cfg = run.config.train
        strategy = self.strategy
        chief = is_chief(strategy)
        if cfg.mixed_precision != "no":
            # The policy must be set before the model is built, which core does before fit.
            logger.warning(
                "mixed_precision=%s is not supported by the tensorflow backend; training in float32.",
                cfg.mixed_precision,
            )
        if cfg.compile:
            logger.warning(
                "train.compile is a torch option; the tensorflow backend runs tf.function graphs without XLA."
            )
        if cfg.num_workers:
            logger.info(
                "train.num_workers is ignored by the tensorflow backend (tf.data reads the batches)."
            )
        keras.utils.set_random_seed(cfg.seed)
        if cfg.deterministic:
            tf.config.experimental.enable_op_determinism()

        replicas = strategy.num_replicas_in_sync
        global_bs = cfg.batch_size * replicas
        n_train = data.num_examples("train")
        batches_per_epoch = math.ceil(n_train / global_bs)
        steps_per_epoch = math.ceil(batches_per_epoch / cfg.grad_accum)
        total_steps = cfg.max_steps or steps_per_epoch * cfg.epochs

        with strategy.scope():
            optimizer = build_optimizer(model, cfg, total_steps)
            model.compile(
                optimizer=optimizer,
                loss=build_loss(cfg.loss),
                # running accuracy on the training batches (train mode), as Keras reports it
                metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                jit_compile=False,
            )
            optimizer.build(model.trainable_variables)
        stopper = make_early_stopping(cfg.monitor, cfg.early_stopping_patience)
        plateau = Plateau(cfg, stopper.mode) if cfg.scheduler == "plateau" else None

        progress = {"epoch": 1, "step_in_epoch": 0, "global_step": 0}
        if run.resumed and (run.state_dir / "trainer.json").exists():
            from attnzoo.state import check_state_dir

            check_state_dir(run.state_dir)  # a pickle in state/ is refused, never read
            read_state(run.state_dir / STATE_FILE, model, optimizer)
            saved = json.loads((run.state_dir / "trainer.json").read_text())
            progress = saved["progress"]
            stopper.load_state_dict(saved["early_stopping"])
            if plateau is not None:
                plateau.load_state_dict(saved["plateau"], optimizer)
            logger.info(
                "Resuming %s at epoch %d, step %d.",
                run.dir,
                progress["epoch"],
                progress["step_in_epoch"],
            )

        def save_state() -> None:
            if not chief:
                return

            def _write(tmp: Path) -> None:
                write_state(tmp / STATE_FILE, model, optimizer)
                atomic_write_json(
                    tmp / "trainer.json",
                    {
                        "progress": progress,
                        "early_stopping": stopper.state_dict(),
                        "plateau": plateau.state_dict(optimizer) if plateau is not None else None,
                    },
                )

            atomic_dir(run.state_dir, _write)
            run.checkpoint_saved(run.state_dir)

        from attnzoo.tensorboard import ScalarWriter

        writer = ScalarWriter(run.tb_dir) if chief else None
        eval_bs = cfg.eval_batch_size or 2 * cfg.batch_size
        final_reason = "completed"
        done = progress["global_step"] >= total_steps or stopper.should_stop
        with StopRequest() as stop:  # Ctrl-C: finish the step, save state, raise
            while not done and progress["epoch"] <= cfg.epochs:
                epoch = progress["epoch"]
                skip = progress["step_in_epoch"] * cfg.grad_accum  # batches already trained on
                limit = min(
                    batches_per_epoch - skip,
                    (total_steps - progress["global_step"]) * cfg.grad_accum,
                )
                counts = {"samples": 0, "tokens": 0}
                dataset = train_dataset(
                    data, global_bs, cfg.seed, epoch, skip, limit, counts, replicas
                )
                steps = StepCallback(
                    progress,
                    cfg.grad_accum,
                    cfg.save_every_steps,
                    save_state,
                    bar=epoch_progress(cfg.progress and chief, epoch, cfg.epochs, limit),
                    batch_size=global_bs,
                    n_train=n_train,
                    stop=stop,
                    on_stop=lambda: interrupted(run, epoch, progress["global_step"]),
                )
                t0 = time.perf_counter()
                history = model.fit(
                    dataset,
                    epochs=epoch,
                    initial_epoch=epoch - 1,
                    shuffle=False,
                    verbose=0,
                    callbacks=[steps],
                )
                elapsed = time.perf_counter() - t0
                # a resumed epoch: combine with the batches trained before the kill (Keras
                # restarted its running means), so the row covers the whole epoch, as in torch
                train_loss, train_accuracy = epoch_means(
                    steps.before,
                    float(history.history["loss"][-1]),
                    float(history.history["accuracy"][-1]),
                    counts["samples"],
                )

                probs = self.predict_proba(model, data.batches("validation", eval_bs))
                val = compute_metrics(cfg.metrics, data.labels["validation"], probs)
                improved = stopper.update(val[cfg.monitor], epoch)
                if plateau is not None:
                    plateau.step(val[cfg.monitor], optimizer)
                row = {
                    "train_loss": train_loss,
                    "train_accuracy": train_accuracy,
                    **prefixed(val, "val"),
                    "lr": float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
                    "samples_per_s": counts["samples"] / max(elapsed, 1e-9),
                    "tokens_per_s": counts["tokens"] / max(elapsed, 1e-9),
                    "epoch_seconds": elapsed,
                    "global_step": progress["global_step"],
                    "best": improved,
                }
                if chief:
                    if improved:
                        run.save_model(model, self)
                    run.log_epoch(epoch, row)
                    if writer is not None:
                        writer.add_scalars(row, epoch)
                for key in ("loss_sum", "correct", "seen"):
                    progress.pop(key, None)
                progress.update(epoch=epoch + 1, step_in_epoch=0)
                save_state()
                if stop.requested:
                    raise interrupted(run, epoch, progress["global_step"])
                reason = stop_reason(stopper, progress["global_step"], total_steps, cfg.max_steps)
                if reason is not None:
                    final_reason, done = reason, True
        if writer is not None:
            writer.close()
        self.load_weights(model, run.model_dir)
        return {
            "best_epoch": stopper.best_epoch,
            "best_val": {cfg.monitor: stopper.best},
            "stop_reason": final_reason,
            "global_step": progress["global_step"],
        }


# ---------------------------------------------------------------------------------------
# Pieces of fit
# ---------------------------------------------------------------------------------------


def _predict_fn(model: keras.Model) -> Any:
    """A traced ``model(inputs, training=False) -> logits`` (one per model, any batch shape)."""
    fn = _PREDICT_FNS.get(model)
    if fn is None:

        @tf.function(input_signature=[_INPUT_SPEC], reduce_retracing=True)
        def fn(inputs: dict[str, tf.Tensor]) -> tf.Tensor:
            out = model(inputs, training=False)
            return out["logits"] if isinstance(out, dict) else out

        _PREDICT_FNS[model] = fn
    return fn


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
            yield {k: batch[k] for k in _INPUT_SPEC}, batch["labels"]

    dataset = tf.data.Dataset.from_generator(
        generate, output_signature=(_INPUT_SPEC, tf.TensorSpec((None,), tf.int64))
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
                    f"{path}: variable {i} ({var.path}) has shape {value.shape}, expected {tuple(var.shape)}."
                )
            var.assign(value)


class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Core's per-step schedules: linear warmup, then constant, linear or cosine decay.

    ``lr(step) = base * factor(step)`` with the torch backend's ``factor``; ``step`` counts
    optimizer updates (Keras passes batches; divided by ``grad_accum``).
    """

    def __init__(
        self, base_lr: float, kind: str, warmup: int, total: int, grad_accum: int = 1
    ) -> None:
        self.base_lr, self.kind, self.warmup, self.total, self.grad_accum = (
            base_lr,
            kind,
            warmup,
            total,
            grad_accum,
        )

    def __call__(self, step: Any) -> tf.Tensor:
        step = tf.cast(tf.cast(step, tf.int64) // self.grad_accum, tf.float32)
        warm = (step + 1.0) / max(1, self.warmup)
        progress = tf.minimum(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        if self.kind == "constant":
            after = tf.ones_like(step)
        elif self.kind == "linear":
            after = 1.0 - progress
        else:
            after = 0.5 * (1.0 + tf.cos(math.pi * progress))
        return self.base_lr * tf.where(step < self.warmup, warm, after)

    def get_config(self) -> dict[str, Any]:
        return {
            "base_lr": self.base_lr,
            "kind": self.kind,
            "warmup": self.warmup,
            "total": self.total,
            "grad_accum": self.grad_accum,
        }


def build_optimizer(model: keras.Model, cfg: Any, total_steps: int) -> keras.optimizers.Optimizer:
    """AdamW as in the torch backend: torch's epsilon, decay on weight matrices only."""
    if cfg.scheduler == "plateau":
        lr: Any = cfg.lr
    else:
        lr = WarmupSchedule(
            cfg.lr, cfg.scheduler, int(cfg.warmup_ratio * total_steps), total_steps, cfg.grad_accum
        )
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


class Plateau:
    """torch's ``ReduceLROnPlateau`` (relative threshold 1e-4, no cooldown) on the Keras LR."""

    def __init__(self, cfg: Any, mode: str) -> None:
        self.mode, self.factor, self.patience = mode, cfg.plateau_factor, cfg.plateau_patience
        self.best = -math.inf if mode == "max" else math.inf
        self.bad_epochs = 0

    def step(self, value: float, optimizer: Any) -> None:
        better = (
            value > self.best * (1 + 1e-4) if self.mode == "max" else value < self.best * (1 - 1e-4)
        )
        if better:
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            optimizer.learning_rate = (
                float(keras.ops.convert_to_numpy(optimizer.learning_rate)) * self.factor
            )
            self.bad_epochs = 0

    def state_dict(self, optimizer: Any) -> dict[str, Any]:
        lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        return {"best": self.best, "bad_epochs": self.bad_epochs, "lr": lr}

    def load_state_dict(self, state: dict[str, Any], optimizer: Any) -> None:
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
        optimizer.learning_rate = state["lr"]


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
    """Counts optimizer steps into ``progress``, saves state every N steps, stops on NaN."""

    def __init__(
        self,
        progress: dict[str, int],
        grad_accum: int,
        save_every: int | None,
        save_state: Any,
        bar: EpochProgress | None,
        batch_size: int = 0,
        n_train: int = 0,
        stop: StopRequest | None = None,
        on_stop: Any = None,
    ) -> None:
        super().__init__()
        self.n_train, self.stop, self.on_stop = n_train, stop, on_stop
        self.skip = progress["step_in_epoch"] * grad_accum  # batches of this epoch before a resume
        self.before = {k: progress.get(k, 0) for k in ("loss_sum", "correct", "seen")}
        self.batch_size = batch_size  # for the progress bar's samples/s (last batch may be smaller)
        self.progress, self.grad_accum, self.save_every, self.save_state, self.bar = (
            progress,
            grad_accum,
            save_every,
            save_state,
            bar,
        )
        self.batches = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"Loss became {loss} at epoch {self.progress['epoch']}, step {self.progress['global_step']}: "
                f"lower train.lr or enable train.grad_clip."
            )
        self.batches += 1
        if self.batches % self.grad_accum == 0:
            self.progress["global_step"] += 1
            self.progress["step_in_epoch"] += 1
            stopping = self.stop is not None and self.stop.requested
            if stopping or (
                self.save_every and self.progress["global_step"] % self.save_every == 0
            ):
                self._record_running_means(logs or {})
                self.save_state()
            if stopping:
                raise self.on_stop()
        if self.bar is not None:
            self.bar.update(loss, self.batch_size)

    def _record_running_means(self, logs: dict[str, Any]) -> None:
        """Put the epoch's running loss/accuracy so far into ``progress`` (saved with the state)
        as sums over samples, so a resume continues them (see :func:`epoch_means`)."""
        total = self.skip + self.batches
        done = min(total * self.batch_size, self.n_train) - min(
            self.skip * self.batch_size, self.n_train
        )
        self.progress["loss_sum"] = self.before["loss_sum"] + float(logs.get("loss", 0.0)) * done
        self.progress["correct"] = self.before["correct"] + float(logs.get("accuracy", 0.0)) * done
        self.progress["seen"] = self.before["seen"] + done

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.bar is not None:
            self.bar.close()
