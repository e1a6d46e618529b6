"""DeepFM (Guo et al. 2017): a factorisation machine and an MLP over shared field embeddings.

``logit = bias + sum_i w_i + sum_{i<j} <e_i, e_j> + MLP(concat_i e_i)`` over the fields i:
every categorical field, every numeric field (``e = x * v``) and every behaviour sequence
(the mean of its events' embeddings, looked up in the table of the field it shares, with
first-order weights the mean of theirs), as FuxiCTR's DeepFM treats sequence features. The FM's
pairwise term is computed in O(F d) as ``0.5 * ((sum e)^2 - sum e^2)``. The loss adds
FuxiCTR's embedding regulariser (see :mod:`attnzoo.nn.ctr`).
"""

from __future__ import annotations

import torch
from torch import nn

from attnzoo.nn.ctr import MLP, FieldEmbeddings, bce_with_embedding_l2, mean_pool
from attnzoo_baselines.config import DeepFMConfig


class DeepFM(nn.Module):
    """Batches follow :class:`attnzoo.config.CTRConfig`; returns ``{"logits": (B,)}``."""

    def __init__(self, config: DeepFMConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = FieldEmbeddings(config, config.embedding_dim)
        self.weights = FieldEmbeddings(config, 1)  # first order: one weight per value
        self.bias = nn.Parameter(torch.zeros(1))
        n_fields = (
            len(config.categorical_sizes) + len(config.numeric_fields) + len(config.sequence_fields)
        )
        self.mlp = MLP(
            n_fields * config.embedding_dim,
            config.hidden_units,
            act="relu",
            dropout=config.dropout,
            batch_norm=config.batch_norm,
        )

    def field_vectors(
        self,
        table: FieldEmbeddings,
        categorical: torch.Tensor,
        numeric: torch.Tensor,
        sequences: torch.Tensor,
        sequence_mask: torch.Tensor,
    ) -> torch.Tensor:
        """(B, fields, d): categorical, numeric, then mean-pooled sequences."""
        parts = [table.fields(categorical), table.numbers(numeric)]
        for s, name in enumerate(self.config.sequence_fields):
            mask = sequence_mask[:, s]
            parts.append(mean_pool(table.sequence(name, sequences[:, s], mask), mask).unsqueeze(1))
        return torch.cat(parts, dim=1)

    def forward(
        self,
        categorical: torch.Tensor,
        numeric: torch.Tensor,
        sequences: torch.Tensor,
        sequence_mask: torch.Tensor,
        **_: object,
    ) -> dict[str, torch.Tensor]:
        inputs = (categorical, numeric, sequences, sequence_mask)
        e = self.field_vectors(self.embeddings, *inputs)  # (B, F, d)
        first = self.field_vectors(self.weights, *inputs).sum((1, 2))  # (B,)
        pairs = 0.5 * (e.sum(1).pow(2) - e.pow(2).sum(1)).sum(1)  # (B,)
        deep = self.mlp(e.flatten(1)).squeeze(-1)
        return {"logits": self.bias + first + pairs + deep}

    def compute_loss(self, outputs: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        return bce_with_embedding_l2(
            outputs["logits"],
            labels,
            [self.embeddings, self.weights],
            self.config.embedding_regularizer,
        )
