"""The example model: masked mean of token embeddings -> MLP -> logits.

Deliberately simple; it shows the contract every attnzoo torch model follows:
``__init__(config)`` and ``forward(input_ids, attention_mask) -> {"logits": (B, C)}``.
"""

from __future__ import annotations

import torch
from torch import nn

from attnzoo_example.config import BagOfEmbeddingsConfig


class BagOfEmbeddings(nn.Module):
    def __init__(self, config: BagOfEmbeddingsConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(
            config.vocab_size, config.d_model, padding_idx=config.pad_token_id
        )
        self.head = nn.Sequential(
            nn.Linear(config.d_model, config.d_hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.d_hidden, config.num_classes),
        )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        mask = attention_mask.unsqueeze(-1).to(self.embed.weight.dtype)  # (B, L, 1)
        h = self.embed(input_ids) * mask  # (B, L, D)
        pooled = h.sum(1) / mask.sum(1).clamp_min(1.0)  # (B, D)
        return {"logits": self.head(pooled)}
