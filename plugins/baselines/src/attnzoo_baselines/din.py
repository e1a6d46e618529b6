"""DIN (Zhou et al. 2018, Deep Interest Network): target attention over the behaviour history.

Each behaviour sequence that shares a categorical field's vocabulary is a history of that
field (``item_history`` of ``item_id``): the candidate's embedding is the query. Sequences
of aligned events (an item and its genre) are concatenated, like the paper's goods and
category ids (``concat_sequences``, the default), and attended to as one history; else each
gets its own activation unit. The local activation unit scores every valid event with an MLP
over ``[target, event, target - event, target * event]`` (FuxiCTR's ``DIN_Attention``; the
paper's out-product is this element-wise product) and pools ``sum_j a_j * event_j`` without
softmax normalisation, so the pooled vector keeps the strength of the user's interest.
Sequences without a target field are mean-pooled. The final MLP (Dice activations) reads every
field embedding and the pooled histories. The loss adds FuxiCTR's embedding regulariser.

Padding never enters the attention MLP (only valid events are scored), so Dice's batch
statistics see real events only and an empty history pools to zeros.
"""

from __future__ import annotations

import torch
from torch import nn

from attnzoo.nn.ctr import MLP, FieldEmbeddings, bce_with_embedding_l2, mean_pool
from attnzoo_baselines.config import DINConfig


class ActivationUnit(nn.Module):
    """Attention weights of a history's events for a target, pooled: (B, D), (B, L, D) -> (B, D)."""

    def __init__(self, dim: int, units: list[int], act: str, use_softmax: bool) -> None:
        super().__init__()
        self.mlp = MLP(4 * dim, units, act=act)
        self.use_softmax = use_softmax

    def scores(
        self, target: torch.Tensor, history: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """(B, L) attention weights; 0 at padding."""
        valid = mask.bool()
        rows, cols = valid.nonzero(as_tuple=True)
        t, h = target[rows], history[rows, cols]
        s = self.mlp(torch.cat([t, h, t - h, t * h], dim=-1)).squeeze(-1)
        if self.use_softmax:
            full = history.new_full(mask.shape, float("-inf"))
            full[rows, cols] = s
            w = torch.softmax(full, dim=-1)
            return torch.nan_to_num(w, nan=0.0)  # an empty history has no weights
        full = history.new_zeros(mask.shape)
        full[rows, cols] = s
        return full

    def forward(
        self, target: torch.Tensor, history: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        return (self.scores(target, history, mask).unsqueeze(-1) * history).sum(1)


class DIN(nn.Module):
    """Batches follow :class:`attnzoo.config.CTRConfig`; returns ``{"logits": (B,)}``."""

    def __init__(self, config: DINConfig) -> None:
        super().__init__()
        self.config = config
        d = config.embedding_dim
        self.embeddings = FieldEmbeddings(config, d)
        names = list(config.sequence_fields)
        fields = list(config.categorical_sizes)
        targeted = [n for n in names if config.sequence_fields[n] != n]
        self.pooled = [n for n in names if config.sequence_fields[n] == n]
        groups = [targeted] if config.concat_sequences and targeted else [[n] for n in targeted]
        #: per history: (sequence indices, target field indices)
        self.groups = [
            ([names.index(n) for n in g], [fields.index(config.sequence_fields[n]) for n in g])
            for g in groups
        ]
        self.attention = nn.ModuleList(
            ActivationUnit(
                len(g) * d, config.attention_units, config.attention_activation, config.use_softmax
            )
            for g in groups
        )
        width = d * (len(fields) + len(config.numeric_fields) + len(names))
        self.mlp = MLP(width, config.hidden_units, act=config.activation, dropout=config.dropout)

    def forward(
        self,
        categorical: torch.Tensor,
        numeric: torch.Tensor,
        sequences: torch.Tensor,
        sequence_mask: torch.Tensor,
        **_: object,
    ) -> dict[str, torch.Tensor]:
        names = list(self.config.sequence_fields)
        fields = self.embeddings.fields(categorical)  # (B, F, d)
        parts = [fields.flatten(1), self.embeddings.numbers(numeric).flatten(1)]
        for (seqs, targets), unit in zip(self.groups, self.attention, strict=True):
            mask = sequence_mask[:, seqs[0]]  # aligned events share the first one's mask
            history = torch.cat(
                [self.embeddings.sequence(names[s], sequences[:, s], mask) for s in seqs], dim=-1
            )
            parts.append(unit(fields[:, targets].flatten(1), history, mask))
        for name in self.pooled:
            s = names.index(name)
            mask = sequence_mask[:, s]
            parts.append(mean_pool(self.embeddings.sequence(name, sequences[:, s], mask), mask))
        return {"logits": self.mlp(torch.cat(parts, dim=-1)).squeeze(-1)}

    def compute_loss(self, outputs: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        return bce_with_embedding_l2(
            outputs["logits"], labels, [self.embeddings], self.config.embedding_regularizer
        )
