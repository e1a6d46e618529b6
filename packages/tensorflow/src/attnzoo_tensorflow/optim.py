"""The Keras engine's optimizer: the torch engine's AdamW recipe on Keras."""

from __future__ import annotations

from typing import Any

from attnzoo.trainers.schedules import warmup_steps
from attnzoo_tensorflow.on_tensorflow import keras
from attnzoo_tensorflow.schedules import WarmupSchedule


def build_optimizer(model: keras.Model, cfg: Any, total_steps: int) -> keras.optimizers.Optimizer:
    """AdamW as in the torch engine: torch's epsilon, decay on weight matrices only."""
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
        # the torch engine's rule: biases, norm scales/offsets (ndim < 2), embedding tables and
        # variables marked ``_no_weight_decay`` (mamba_ssm's convention) are exempt
        exempt = [
            v
            for v in model.trainable_variables
            if len(v.shape) < 2 or v.name == "embeddings" or getattr(v, "_no_weight_decay", False)
        ]
        optimizer.exclude_from_weight_decay(var_list=exempt)
    return optimizer
