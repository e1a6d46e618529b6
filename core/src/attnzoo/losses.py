"""The torch implementation of the loss registry (:mod:`attnzoo.loss_formulas`).

A model may define ``compute_loss`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from attnzoo.config import LossConfig
from attnzoo.loss_formulas import LOSSES, loss_formula, register_loss

__all__ = ["LOSSES", "TORCH_OPS", "build_loss", "probabilities", "register_loss"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class _TorchOps:
    """:class:`attnzoo.loss_formulas.LossOps` on torch tensors."""

    exp = staticmethod(torch.exp)

    @staticmethod
    def log_softmax(logits: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(logits.float(), dim=-1)

    @staticmethod
    def take(values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return values.gather(1, labels.long()[:, None]).squeeze(1)

    @staticmethod
    def mean_classes(values: torch.Tensor) -> torch.Tensor:
        return values.mean(dim=-1)

    @staticmethod
    def binary_logit(logits: torch.Tensor) -> torch.Tensor:
        if logits.dim() == 2 and logits.shape[-1] == 2:
            logits = logits[:, 1] - logits[:, 0]
        return logits.float().reshape(-1)

    @staticmethod
    def sigmoid_bce(logit: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logit, labels.float(), reduction="none")


TORCH_OPS = _TorchOps()


def build_loss(cfg: LossConfig) -> LossFn:
    """The batch-mean loss ``fn(logits, labels)`` named by ``cfg.name``."""
    formula = loss_formula(cfg)
    return lambda logits, labels: formula(TORCH_OPS, logits, labels).mean()


def probabilities(logits: Any) -> torch.Tensor:
    """Class probabilities: softmax, or sigmoid for a single logit per example."""
    logits = logits.float()
    if logits.dim() == 1 or logits.shape[-1] == 1:
        p = torch.sigmoid(logits.reshape(-1))
        return torch.stack([1 - p, p], dim=-1)
    return torch.softmax(logits, dim=-1)
