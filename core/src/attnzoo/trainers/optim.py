"""AdamW parameter groups and learning-rate schedules."""

from __future__ import annotations

from fnmatch import fnmatchcase

import torch

from attnzoo.config import TrainConfig
from attnzoo.trainers.schedules import lr_factor, warmup_steps


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """AdamW groups: weight decay (:func:`decay_groups`), each split by ``train.lr_multipliers``."""
    groups = decay_groups(model, cfg)
    if not cfg.lr_multipliers:
        return groups
    names = {id(p): name for name, p in model.named_parameters()}
    split: list[dict] = []
    matched: set[str] = set()
    for group in groups:
        by_scale: dict[float, list[torch.nn.Parameter]] = {}
        for p in group["params"]:
            pattern, scale = _lr_multiplier(names[id(p)], cfg.lr_multipliers)
            if pattern is not None:
                matched.add(pattern)
            by_scale.setdefault(scale, []).append(p)
        for scale, params in by_scale.items():
            split.append({**group, "params": params, "lr": cfg.lr * scale, "lr_scale": scale})
    unused = [k for k in cfg.lr_multipliers if k not in matched]
    if unused:
        raise ValueError(
            f"train.lr_multipliers: no trainable parameter matches {unused} (patterns are fnmatch "
            f"on names such as {next(iter(names.values()), '?')!r}; list them with "
            "model.named_parameters())."
        )
    return split


def _lr_multiplier(name: str, multipliers: dict[str, float]) -> tuple[str | None, float]:
    for pattern, scale in multipliers.items():
        if fnmatchcase(name, pattern):
            return pattern, scale
    return None, 1.0


def decay_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """Decay on weight matrices only, unless ``decay_norm_and_bias``: biases, norms, embeddings and
    parameters marked ``_no_weight_decay`` (mamba_ssm's convention: A_log, D) are exempt."""
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
                or getattr(p, "_no_weight_decay", False)  # mamba_ssm's marker (A_log, D)
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
) -> torch.optim.lr_scheduler.LambdaLR:
    """The per-step schedule (cosine/linear/constant with warmup) of :mod:`.schedules`.

    ``plateau`` is per epoch: the shared loop runs :class:`.schedules.Plateau` itself.
    """
    if cfg.scheduler == "plateau":
        raise ValueError("scheduler 'plateau' is applied per epoch by the training loop.")
    warmup = warmup_steps(cfg, total_steps)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, cfg.scheduler, warmup, total_steps)
    )
