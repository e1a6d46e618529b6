"""Rank-collapse diagnostics: how many directions the trained weights and features really use.

With the seed's xavier gain 0.02 the diffusion classifier trains into a rank-one model: every
weight matrix ends with a stable rank near 1 and the pooled features put almost all their
variance on one direction (see the README). These two numbers make that visible.
"""

from __future__ import annotations

import torch
from torch import nn


def stable_rank(matrix: torch.Tensor) -> float:
    """``||W||_F^2 / ||W||_2^2``: 1 for a rank-one matrix, up to min(shape) for a flat spectrum."""
    s = torch.linalg.svdvals(matrix.detach().double())
    return float(s.pow(2).sum() / s[0].pow(2)) if s[0] > 0 else 0.0


def top_component_share(features: torch.Tensor) -> float:
    """Share of the (centred) variance of ``features`` (N, D) on their first principal component."""
    x = features.detach().double()
    s = torch.linalg.svdvals(x - x.mean(0))
    total = s.pow(2).sum()
    return float(s[0].pow(2) / total) if total > 0 else 1.0


def weight_stable_ranks(model: nn.Module) -> dict[str, float]:
    """Stable rank of every Linear weight, plus ``neighbor_mix``: [W_L; W_R; W_S] stacked (3D, D)."""
    ranks = {
        f"{name}.weight": stable_rank(module.weight)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
    }
    if hasattr(model, "neighbor_proj"):
        ranks["neighbor_mix"] = stable_rank(torch.cat([p.weight for p in model.neighbor_proj]))
    return ranks


@torch.no_grad()
def pooled_features(
    model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The pooled states the classifier head sees, (B, D), computed in eval mode."""
    was_training = model.training
    model.eval()
    try:
        return model.pool(model.hidden_states(input_ids, attention_mask), attention_mask)
    finally:
        model.train(was_training)
