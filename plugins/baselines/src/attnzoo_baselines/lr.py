"""Logistic regression for CTR: the linear baseline every CTR paper reports.

``logit = bias + sum_f w_f[categorical_f] + sum_s mean_{t in history_s} v_s[sequences_s,t]
+ u . numeric``: one weight per categorical value (a field's unknown id 1 has its own weight;
padding 0 has none), one weight per value of each behaviour sequence averaged over the masked
history (an empty history adds 0), and one weight per numeric field. Sequence weights are the
sequence field's own (an item in the history is a different signal from the candidate item),
sized by the vocabulary it shares.
"""

from __future__ import annotations

import torch
from torch import nn

from attnzoo_baselines.config import LRConfig


class LogisticRegressionCTR(nn.Module):
    """Batches follow :class:`attnzoo.config.CTRConfig`; returns ``{"logits": (B,)}``."""

    def __init__(self, config: LRConfig) -> None:
        super().__init__()
        self.config = config
        sizes = list(config.categorical_sizes.values())
        offsets = torch.tensor([0, *sizes[:-1]], dtype=torch.long).cumsum(0) if sizes else None
        self.register_buffer(
            "field_offsets",
            offsets if offsets is not None else torch.zeros(0, dtype=torch.long),
            persistent=False,
        )
        self.categorical = nn.Embedding(max(sum(sizes), 1), 1)
        self.sequences = nn.ModuleDict(
            {
                name: nn.Embedding(self._sequence_size(name, shares), 1)
                for name, shares in config.sequence_fields.items()
            }
        )
        self.numeric = nn.Linear(len(config.numeric_fields), 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(1))
        for table in [self.categorical, *self.sequences.values()]:
            nn.init.normal_(table.weight, std=config.init_std)
        nn.init.normal_(self.numeric.weight, std=config.init_std)

    def _sequence_size(self, name: str, shares: str) -> int:
        if shares == name:
            return self.config.sequence_sizes[name]
        return self.config.categorical_sizes[shares]

    def forward(
        self,
        categorical: torch.Tensor,
        numeric: torch.Tensor,
        sequences: torch.Tensor,
        sequence_mask: torch.Tensor,
        **_: object,
    ) -> dict[str, torch.Tensor]:
        # (B, F) ids -> rows of one table; padding (id 0) contributes nothing
        ids = categorical + self.field_offsets
        cat = (self.categorical(ids).squeeze(-1) * (categorical != 0)).sum(1)  # (B,)
        logit = self.bias + cat + self.numeric(numeric.to(self.bias.dtype)).squeeze(-1)
        mask = sequence_mask.to(self.bias.dtype)  # (B, S, L)
        for s, table in enumerate(self.sequences.values()):
            w = table(sequences[:, s]).squeeze(-1) * mask[:, s]  # (B, L)
            logit = logit + w.sum(1) / mask[:, s].sum(1).clamp_min(1.0)
        return {"logits": logit}
