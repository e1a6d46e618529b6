"""The loss registry (torch). A model may define ``compute_loss`` instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from attnzoo.config import LossConfig
from attnzoo.errors import ConfigError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cross_entropy(cfg: LossConfig) -> LossFn:
    return lambda logits, labels: F.cross_entropy(logits.float(), labels)


def label_smoothing(cfg: LossConfig) -> LossFn:
    return lambda logits, labels: F.cross_entropy(
        logits.float(), labels, label_smoothing=cfg.label_smoothing
    )


def focal(cfg: LossConfig) -> LossFn:
    """Focal loss (Lin et al. 2017): alpha * (1 - p_t)^gamma * CE."""

    def fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits.float(), dim=-1).gather(1, labels[:, None]).squeeze(1)
        return (-cfg.focal_alpha * (1 - logp.exp()).pow(cfg.focal_gamma) * logp).mean()

    return fn


def bce(cfg: LossConfig) -> LossFn:
    """Binary cross-entropy on one logit per example (shape (B,) or (B, 1))."""

    def fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if logits.dim() == 2 and logits.shape[-1] == 2:
            logits = logits[:, 1] - logits[:, 0]
        return F.binary_cross_entropy_with_logits(logits.float().reshape(-1), labels.float())

    return fn


def combined(cfg: LossConfig) -> LossFn:
    """Weighted sum of registered losses, e.g. AMSDFF's 0.4 CE + 0.4 focal + 0.2 LS."""
    if not cfg.weights:
        raise ConfigError(
            "Loss 'combined' needs train.loss.weights, e.g. {cross_entropy: 0.4, focal: 0.4, label_smoothing: 0.2}."
        )
    parts = [(w, build_loss(cfg.model_copy(update={"name": n}))) for n, w in cfg.weights.items()]
    return lambda logits, labels: sum(w * fn(logits, labels) for w, fn in parts)  # type: ignore[return-value]


LOSSES: dict[str, Callable[[LossConfig], LossFn]] = {
    "cross_entropy": cross_entropy,
    "label_smoothing": label_smoothing,
    "focal": focal,
    "bce": bce,
    "combined": combined,
}


def build_loss(cfg: LossConfig) -> LossFn:
    if cfg.name not in LOSSES:
        import difflib

        close = difflib.get_close_matches(cfg.name, LOSSES, n=2)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"Unknown loss {cfg.name!r}.{hint} Available: {', '.join(LOSSES)}.")
    if cfg.name == "combined" and "combined" in cfg.weights:
        raise ConfigError("Loss 'combined' cannot contain itself.")
    return LOSSES[cfg.name](cfg)


def probabilities(logits: Any) -> torch.Tensor:
    """Class probabilities: softmax, or sigmoid for a single logit per example."""
    logits = logits.float()
    if logits.dim() == 1 or logits.shape[-1] == 1:
        p = torch.sigmoid(logits.reshape(-1))
        return torch.stack([1 - p, p], dim=-1)
    return torch.softmax(logits, dim=-1)
