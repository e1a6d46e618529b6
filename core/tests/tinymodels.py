"""A tiny torch model plugin that core's own tests register by hand (core installs no plugin)."""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from attnzoo import hookimpl
from attnzoo.config import TextClassifierConfig
from attnzoo.specs import ModelSpec, Preset


class TinyConfig(TextClassifierConfig):
    d_model: int = Field(16, ge=1, description="Embedding width.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout before the head.")


class TinyModel(nn.Module):
    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.d_model, config.num_classes)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        mask = attention_mask.unsqueeze(-1).float()
        pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1).clamp_min(1)
        return {"logits": self.head(self.drop(pooled))}


@hookimpl
def register_models(registry):  # type: ignore[no-untyped-def]
    registry.add(
        ModelSpec(
            name="tiny",
            config="tinymodels:TinyConfig",
            factory="tinymodels:TinyModel",
            description="test model",
            presets={"wide": Preset(model={"d_model": 32}, train={"lr": 0.02})},
            train_defaults={"lr": 0.01, "batch_size": 8},
        )
    )
