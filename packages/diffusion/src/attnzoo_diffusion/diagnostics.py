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


def marker_problem(
    n: int, seed: int, *, vocab_size: int = 64, num_classes: int = 4, length: int = 24
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A tiny fixed task: each row holds 3 tokens of its class's 4-token set among random ones.

    Token ids 2 .. 2 + 4 * num_classes - 1 are the class markers, the rest background.
    Returns ``input_ids`` (n, length), an all-ones ``attention_mask`` and ``labels`` (n,).
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (n,), generator=g)
    ids = torch.randint(2 + 4 * num_classes, vocab_size, (n, length), generator=g)
    rows = torch.arange(n)
    for _ in range(3):
        pos = torch.randint(0, length, (n,), generator=g)
        ids[rows, pos] = 2 + 4 * labels + torch.randint(0, 4, (n,), generator=g)
    return ids, torch.ones_like(ids), labels


def collapse_probe(
    model: nn.Module, *, steps: int = 150, lr: float = 1e-3, batch_size: int = 32, seed: int = 0
) -> dict:
    """Train ``model`` (vocab >= 64, 4 classes) on :func:`marker_problem` with AdamW; measure it.

    Returns the training accuracy, the top-PC share of the pooled features of held-out rows
    and the stable rank of every weight matrix. A collapsed model has a share near 1, stable
    ranks near 1 and cannot fit the 512 training rows.
    """
    ids, mask, labels = marker_problem(512, seed=0)
    test_ids, test_mask, _ = marker_problem(256, seed=1)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(labels), (batch_size,), generator=g)
        logits = model(ids[idx], mask[idx])["logits"]
        loss = nn.functional.cross_entropy(logits, labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        train_acc = (model(ids, mask)["logits"].argmax(-1) == labels).float().mean().item()
    return {
        "train_accuracy": train_acc,
        "top_component_share": top_component_share(pooled_features(model, test_ids, test_mask)),
        "stable_ranks": weight_stable_ranks(model),
    }
