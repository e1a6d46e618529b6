"""BST (Chen et al. 2019, Behavior Sequence Transformer, arXiv 1905.06874) as FuxiCTR builds it.

The history's events (item and category embeddings, concatenated) and the candidate appended
as the last token go through transformer blocks with concatenated, learned positions; the
mean over valid tokens replaces the histories among the features, and an MLP over every
field's embedding and that vector gives the click logit (FuxiCTR ``model_zoo/BST``).
``variant="mdaf"`` is the MDAF seed's BST (see :class:`~attnzoo_mdaf.branches.BSTBranch`); the
sequences it does not read are mean-pooled into the head. The loss adds FuxiCTR's embedding
regulariser.
"""

from __future__ import annotations

import torch
from torch import nn

from attnzoo.nn import MLP, FieldEmbeddings, bce_with_embedding_l2
from attnzoo_mdaf.branches import BSTBranch, static_features, static_width
from attnzoo_mdaf.config_seq import BSTConfig


class BSTCTR(nn.Module):
    """Batches follow :class:`attnzoo.config.CTRConfig`; returns ``{"logits": (B,)}``."""

    def __init__(self, config: BSTConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = FieldEmbeddings(config, config.embedding_dim)
        self.branch = BSTBranch(
            self.embeddings,
            config,
            n_heads=config.n_heads,
            n_layers=config.n_layers,
            dropout=config.dropout,
            variant=config.variant,
            attention_dropout=config.attention_dropout,
        )
        width = static_width(config, config.embedding_dim, self.branch.names)
        self.mlp = MLP(
            width + self.branch.out_dim, config.hidden_units, dropout=config.head_dropout
        )

    def forward(
        self,
        categorical: torch.Tensor,
        numeric: torch.Tensor,
        sequences: torch.Tensor,
        sequence_mask: torch.Tensor,
        **_: object,
    ) -> dict[str, torch.Tensor]:
        batch = {
            "categorical": categorical,
            "numeric": numeric,
            "sequences": sequences,
            "sequence_mask": sequence_mask,
        }
        static = static_features(self.embeddings, self.config, batch, self.branch.names)
        h = torch.cat([static, self.branch(batch)], dim=-1)
        return {"logits": self.mlp(h).squeeze(-1)}

    def compute_loss(self, outputs: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        return bce_with_embedding_l2(
            outputs["logits"], labels, [self.embeddings], self.config.embedding_regularizer
        )
