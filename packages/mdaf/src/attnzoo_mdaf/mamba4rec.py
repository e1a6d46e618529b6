"""Mamba4Rec (Liu et al. 2024, arXiv 2403.03900; chengkai-liu/Mamba4Rec) as a CTR model.

The original is a next-item recommender: Mamba4Rec layers over the item sequence, the state
at the last item, scored against every item embedding. Here the same encoder
(:class:`~attnzoo_mdaf.branches.MambaBranch`: Mamba over a real selective scan, dropout,
LayerNorm(eps 1e-12), the GELU FFN, no residual with one layer) reads the behaviour history,
and a click logit comes from an MLP over its vector and every field's embedding (the candidate
item is one of them), as CTR models combine a history encoder with the other features. The
loss adds FuxiCTR's embedding regulariser, as DIN's does.
"""

from __future__ import annotations

import torch
from torch import nn

from attnzoo.nn import MLP, FieldEmbeddings, bce_with_embedding_l2
from attnzoo_mdaf.branches import MambaBranch, static_features, static_width
from attnzoo_mdaf.config_seq import Mamba4RecConfig
from attnzoo_mdaf.scan import export_blocker


class Mamba4RecCTR(nn.Module):
    """Batches follow :class:`attnzoo.config.CTRConfig`; returns ``{"logits": (B,)}``."""

    def __init__(self, config: Mamba4RecConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = FieldEmbeddings(config, config.embedding_dim)
        self.branch = MambaBranch(
            self.embeddings,
            config,
            d_model=config.d_model,
            n_layers=config.n_layers,
            dropout=config.dropout,
            d_state=config.d_state,
            d_conv=config.d_conv,
            expand=config.expand,
            impl=config.impl,
            reinit_inner=config.reinit_inner,
            pooling=config.pooling,
        )
        width = static_width(config, config.embedding_dim, self.branch.names)
        self.mlp = MLP(
            width + self.branch.out_dim, config.hidden_units, dropout=config.head_dropout
        )

    def onnx_export_blocker(self) -> str | None:
        return export_blocker(self.config.impl, "impl")

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
