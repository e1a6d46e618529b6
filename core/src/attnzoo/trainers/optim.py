"""AdamW parameter groups and learning-rate schedules."""

from __future__ import annotations

import math
from typing import Literal

import torch

from attnzoo.config import TrainConfig


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """Decay on weight matrices only, unless ``decay_norm_and_bias``: biases, norms and embeddings are exempt."""
    if cfg.decay_norm_and_bias:
        return [
            {
                "params": [p for p in model.parameters() if p.requires_grad],
                "weight_decay": cfg.weight_decay,
            }
        ]
    no_decay_types = (
        torch.nn.LayerNorm,
        torch.nn.Embedding,
        torch.nn.EmbeddingBag,
        torch.nn.GroupNorm,
        torch.nn.BatchNorm1d,
    )
    decay, no_decay, seen = [], [], set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            if (
                isinstance(module, no_decay_types)
                or p.ndim < 2
                or "norm" in name.lower()
                or name.endswith("bias")
            ):
                no_decay.append(p)
            else:
                decay.append(p)
    return [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau:
    """Per-step schedules (cosine/linear/constant with warmup) or per-epoch ReduceLROnPlateau."""
    if cfg.scheduler == "plateau":
        from attnzoo.metrics import higher_is_better

        mode: Literal["min", "max"] = "max" if higher_is_better(cfg.monitor) else "min"
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=cfg.plateau_factor, patience=cfg.plateau_patience
        )
    warmup = int(cfg.warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        if cfg.scheduler == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        if cfg.scheduler == "linear":
            return 1.0 - progress
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
