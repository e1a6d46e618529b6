"""DCNv3 (Li et al. 2024, arXiv 2407.13349; FuxiCTR ``model_zoo/DCNv3`` = salmon1802/FCN).

The official layout, exactly:

- **Multi-head field embedding**: every field (categorical, numeric ``x * v``, and each behaviour
  sequence mean-pooled, as FuxiCTR pools sequence features) embeds to ``E * H``; split into H
  heads of width E; inside each head every field's vector is cut in halves, and the result is
  ``[first halves of all fields || second halves of all fields]`` (B, H, F * E). So in a cross
  layer ``c`` multiplies the first halves of every field and ``Mask(c)`` the second halves.
- **Cross layer** (width D = F * E): ``c = W x`` (no bias, D -> D/2), optional BatchNorm over
  the heads, self-mask ``m = c * ReLU(LN(c))``, ``h = [c || m]``, then with the bias ``b``
  (U(0, 1) init) added *after* the concatenation: ECN ``x <- x * (h + b) + x`` (order 2^l),
  LCN ``x <- x0 * (h + b) + x`` (order l + 1); dropout after each layer.
- **Output**: ``logit_D = mean_heads(dfc(x_ECN))``, ``logit_S = mean_heads(sfc(x_LCN))``,
  ``logit = (logit_D + logit_S) / 2`` (an average of logits).
- **Tri-BCE**: ``L + w_D L_D + w_S L_S`` with ``w = max(0, L_aux - L)`` kept as tensors (they
  carry gradient, as the official code), plus FuxiCTR's embedding L2.
- **Init** (FuxiCTR ``reset_parameters``): xavier-normal linears, zero biases, the cross biases
  keep U(0, 1), embeddings N(0, 1e-4).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from attnzoo.config import CTRConfig
from attnzoo.nn import FieldEmbeddings, bce_with_embedding_l2, mean_pool
from attnzoo_mdaf.config import DCNv3Config, _CrossConfig


def field_vectors(
    embeddings: FieldEmbeddings,
    config: CTRConfig,
    batch: dict[str, torch.Tensor],
    skip: list[str] | tuple[str, ...] = (),
) -> torch.Tensor:
    """(B, F, dim): categorical fields, numeric fields, then each sequence not in ``skip``
    mean-pooled over its valid events (FuxiCTR's ``MaskedAveragePooling``)."""
    parts = [embeddings.fields(batch["categorical"]), embeddings.numbers(batch["numeric"])]
    for s, name in enumerate(config.sequence_fields):
        if name in skip:
            continue
        mask = batch["sequence_mask"][:, s]
        pooled = mean_pool(embeddings.sequence(name, batch["sequences"][:, s], mask), mask)
        parts.append(pooled.unsqueeze(1))
    return torch.cat(parts, dim=1)


def n_fields(config: CTRConfig, skip: list[str] | tuple[str, ...] = ()) -> int:
    """How many fields :func:`field_vectors` returns."""
    seqs = [n for n in config.sequence_fields if n not in skip]
    return len(config.categorical_sizes) + len(config.numeric_fields) + len(seqs)


def multi_head_layout(emb: torch.Tensor, num_heads: int) -> torch.Tensor:
    """FuxiCTR's ``MultiHeadFeatureEmbedding``: (B, F, E*H) -> (B, H, F*E) laid out as
    ``[first halves of every field || second halves of every field]`` within each head."""
    heads = torch.stack(torch.tensor_split(emb, num_heads, dim=-1), dim=1)  # (B, H, F, E)
    first, second = torch.tensor_split(heads, 2, dim=-1)  # (B, H, F, E/2) each
    return torch.cat([first.flatten(2), second.flatten(2)], dim=-1)


class CrossNetwork(nn.Module):
    """DCNv3's ECN (``exponential=True``) or LCN over (B, H, D) inputs -> final state (B, H, D)."""

    def __init__(
        self,
        dim: int,
        num_layers: int,
        *,
        exponential: bool,
        dropout: float,
        layer_norm: bool,
        batch_norm: bool,
        num_heads: int,
    ) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"cross width {dim} must be even (c and Mask(c) are halves)")
        self.exponential = exponential
        self.w = nn.ModuleList(nn.Linear(dim, dim // 2, bias=False) for _ in range(num_layers))
        self.b = nn.ParameterList(nn.Parameter(torch.empty(dim)) for _ in range(num_layers))
        self.layer_norm = nn.ModuleList(
            nn.LayerNorm(dim // 2) for _ in range(num_layers if layer_norm else 0)
        )
        self.batch_norm = nn.ModuleList(
            nn.BatchNorm1d(num_heads) for _ in range(num_layers if batch_norm else 0)
        )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        for w, b in zip(self.w, self.b, strict=True):
            nn.init.xavier_normal_(w.weight)
            nn.init.uniform_(b)  # U(0, 1), as the official nn.init.uniform_

    def mask(self, i: int, c: torch.Tensor) -> torch.Tensor:
        """Self-mask of layer ``i``: ``c * ReLU(LN(c))`` (or ``c * ReLU(c)`` without LN)."""
        gate = self.layer_norm[i](c) if self.layer_norm else c
        return c * F.relu(gate)

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        x = x0
        for i, (w, b) in enumerate(zip(self.w, self.b, strict=True)):
            c = w(x)
            if self.batch_norm:
                c = self.batch_norm[i](c)
            h = torch.cat([c, self.mask(i, c)], dim=-1) + b
            x = (x if self.exponential else x0) * h + x
            x = self.dropout(x)
        return x


class DCNv3Encoder(nn.Module):
    """Field vectors -> the multi-head layout -> ECN and LCN final states, each (B, H, D)."""

    def __init__(self, config: _CrossConfig, fields: int) -> None:
        super().__init__()
        self.num_heads = config.num_heads
        self.dim = fields * config.embedding_dim  # D per head
        common = {
            "layer_norm": config.layer_norm,
            "batch_norm": config.batch_norm,
            "num_heads": config.num_heads,
        }
        self.ecn = CrossNetwork(
            self.dim,
            config.num_deep_cross_layers,
            exponential=True,
            dropout=config.deep_net_dropout,
            **common,
        )
        self.lcn = CrossNetwork(
            self.dim,
            config.num_shallow_cross_layers,
            exponential=False,
            dropout=config.shallow_net_dropout,
            **common,
        )

    def forward(self, fields: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x0 = multi_head_layout(fields, self.num_heads)
        return self.ecn(x0), self.lcn(x0)


def tri_bce(
    logit: torch.Tensor,
    aux: list[torch.Tensor],
    labels: torch.Tensor,
    *,
    detach_weights: bool = False,
) -> torch.Tensor:
    """``L + sum_k w_k L_k`` with ``w_k = max(0, L_k - L)`` (DCNv3's Tri-BCE for two auxiliary
    logits). The weights stay tensors (the official code) unless ``detach_weights``."""
    y = labels.float().reshape(-1)
    main = F.binary_cross_entropy_with_logits(logit.float().reshape(-1), y)
    total = main
    for a in aux:
        loss = F.binary_cross_entropy_with_logits(a.float().reshape(-1), y)
        weight = torch.clamp_min(loss - main, 0.0)
        total = total + (weight.detach() if detach_weights else weight) * loss
    return total


def init_linears_fuxictr(module: nn.Module) -> None:
    """FuxiCTR's ``reset_parameters`` for linears: xavier-normal weight, zero bias."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class DCNv3(nn.Module):
    """Batches follow :class:`attnzoo.config.CTRConfig`; returns ``logits`` (the average of
    ``logit_deep`` and ``logit_shallow``) and both auxiliary logits, each (B,)."""

    def __init__(self, config: DCNv3Config) -> None:
        super().__init__()
        self.config = config
        self.embeddings = FieldEmbeddings(config, config.embedding_dim * config.num_heads)
        self.encoder = DCNv3Encoder(config, n_fields(config))
        self.dfc = nn.Linear(self.encoder.dim, 1)
        self.sfc = nn.Linear(self.encoder.dim, 1)
        init_linears_fuxictr(self.dfc)
        init_linears_fuxictr(self.sfc)

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
        x_ecn, x_lcn = self.encoder(field_vectors(self.embeddings, self.config, batch))
        logit_d = self.dfc(x_ecn).mean(dim=1).squeeze(-1)  # per-head logits averaged
        logit_s = self.sfc(x_lcn).mean(dim=1).squeeze(-1)
        return {
            "logits": (logit_d + logit_s) * 0.5,
            "logit_deep": logit_d,
            "logit_shallow": logit_s,
        }

    def compute_loss(self, outputs: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if not cfg.tri_bce:
            return bce_with_embedding_l2(
                outputs["logits"], labels, [self.embeddings], cfg.embedding_regularizer
            )
        loss = tri_bce(
            outputs["logits"],
            [outputs["logit_deep"], outputs["logit_shallow"]],
            labels,
            detach_weights=cfg.detach_tri_bce_weights,
        )
        if cfg.embedding_regularizer:
            loss = loss + (cfg.embedding_regularizer / 2) * self.embeddings.l2()
        return loss
