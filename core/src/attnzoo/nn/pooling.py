"""Masked pooling over padded sequences, shared by model plugins."""

from __future__ import annotations

import torch


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` (B, L, D) over the positions where ``mask`` (B, L) is nonzero -> (B, D).

    A row without any real token gives zeros instead of NaN.
    """
    m = mask.to(x.dtype).unsqueeze(-1)  # (B, L, 1)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max of ``x`` (B, L, D) over the positions where ``mask`` (B, L) is nonzero -> (B, D)."""
    keep = mask.bool().unsqueeze(-1)  # (B, L, 1)
    out = x.masked_fill(~keep, torch.finfo(x.dtype).min).amax(1)
    return torch.where(keep.any(1), out, torch.zeros_like(out))  # all-padding rows -> 0
