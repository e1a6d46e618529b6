"""The Keras engine's optimizer: the torch engine's AdamW recipe on Keras."""

from __future__ import annotations

from typing import Any

from attnzoo.trainers.schedules import warmup_steps
from attnzoo_tensorflow.on_tensorflow import keras, tf
from attnzoo_tensorflow.schedules import WarmupSchedule


class GlobalNormAdamW(keras.optimizers.AdamW):
    """Keras' AdamW on the dense gradient of the global batch, clipped by its true norm, as in
    torch.

    Two Keras 3 behaviours made the Keras engine train differently from torch:

    - an embedding's gradient is ``tf.IndexedSlices`` with one row per token, so a token seen
      twice in a batch is two rows, and Keras squares rows before merging them: in the global
      norm of ``train.grad_clip`` (``[1, 1]`` on one row counts as norm 1.41, not 2) and, with
      no clip, in Adam's second moment. The gradients are made dense here first;
    - under a multi-replica strategy Keras clips each replica's share of the gradient and sums
      the replicas after, so the run drifted from one device at the same global batch. The sum
      moves here, before the clip (``_all_reduce_sum_gradients`` then has nothing to do).

    These are private hooks of Keras' TensorFlow optimizer: ``tests/test_cpu_replicas.py`` and
    ``tests/test_optim_schedules.py`` fail if a Keras upgrade changes them.
    """

    def _backend_apply_gradients(self, grads: list[Any], trainable_variables: list[Any]) -> None:
        grads = [tf.convert_to_tensor(g) for g in grads]  # IndexedSlices -> dense
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        super()._backend_apply_gradients(grads, trainable_variables)

    def _all_reduce_sum_gradients(self, grads_and_vars: Any) -> Any:
        return grads_and_vars  # summed already, in _backend_apply_gradients


def build_optimizer(model: keras.Model, cfg: Any, total_steps: int) -> keras.optimizers.Optimizer:
    """AdamW as in the torch engine: torch's epsilon, decay on weight matrices only, clipping the
    global batch's gradient."""
    if getattr(cfg, "lr_multipliers", None):
        from attnzoo.errors import ConfigError

        raise ConfigError(
            "train.lr_multipliers is not supported by the tensorflow engine (one learning rate for "
            "every variable); remove it or use a torch model."
        )
    if cfg.scheduler == "plateau":  # the loop scales the learning rate per epoch
        lr: Any = cfg.lr
    else:
        warmup = warmup_steps(cfg, total_steps)
        lr = WarmupSchedule(cfg.lr, cfg.scheduler, warmup, total_steps, cfg.grad_accum)
    optimizer = GlobalNormAdamW(
        learning_rate=lr,
        weight_decay=cfg.weight_decay,
        beta_1=cfg.betas[0],
        beta_2=cfg.betas[1],
        epsilon=1e-8,
        global_clipnorm=cfg.grad_clip,
        gradient_accumulation_steps=cfg.grad_accum if cfg.grad_accum > 1 else None,
    )
    if not cfg.decay_norm_and_bias:
        # the torch engine's rule: biases, norm scales/offsets (ndim < 2), embedding tables and
        # variables marked ``_no_weight_decay`` (mamba_ssm's convention) are exempt
        exempt = [
            v
            for v in model.trainable_variables
            if len(v.shape) < 2 or v.name == "embeddings" or getattr(v, "_no_weight_decay", False)
        ]
        optimizer.exclude_from_weight_decay(var_list=exempt)
    return optimizer
