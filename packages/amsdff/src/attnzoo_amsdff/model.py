"""AMSDFF: Advanced Multi-Scale Dynamic Feature Fusion for text classification.

Ported from hjy895/AMSDFF (``src/attention-module.py``, ``src/fusion-module.py``,
``src/pooling-module.py``, ``docs/amsdff-model-file.py``); the seed does not import as
committed, so this is assembled from its files (spec: shared/specs/amsdff.md, 1.2). Deviations,
each behind a switch that restores the seed: the init hook touches only the new heads
(``reinit_backbone=True`` also wipes the encoder, as the seed does); the gate averages real
tokens only (``masked_gate_pool``); padding is zeroed before the convolutions
(``mask_conv_padding``). The encoder is called without ``output_hidden_states`` (the seed
requests them and uses only the last one).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from attnzoo.hf import load_encoder
from attnzoo.nn.pooling import masked_mean
from attnzoo_amsdff.config import AMSDFFConfig

logger = logging.getLogger(__name__)


def init_weights(module: nn.Module) -> None:
    """The seed's ``_init_weights``: xavier-uniform Linear weights, zero biases, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        if module.weight is not None:
            nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def branch_widths(hidden: int, n: int) -> list[int]:
    """Split ``hidden`` channels over ``n`` branches (the seed's H/3 each when it divides)."""
    return [hidden // n + (1 if i < hidden % n else 0) for i in range(n)]


# ---------------------------------------------------------------------------------------
# Blocks, in the order the forward pass uses them
# ---------------------------------------------------------------------------------------


class FeatureEnhancer(nn.Sequential):
    """Linear -> LayerNorm -> GELU -> Dropout, token-wise."""

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__(
            nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(dropout)
        )


class MultiScaleAttention(nn.Module):
    """Depthwise-separable convolutions at several kernel sizes, self-attention, residual LN.

    Branch k: depthwise Conv1d(H, H, k, groups=H) -> pointwise Conv1d(H, H/n) -> BatchNorm -> GELU.
    The branches are concatenated back to H, attended over (padding keys masked), projected and
    added to the block input: ``LN(Linear(MHA(ms)) + x)``. BatchNorm's batch statistics include
    padding positions in training (kept from the seed: results depend on the batch).
    """

    def __init__(self, hidden: int, cfg: AMSDFFConfig) -> None:
        super().__init__()
        self.mask_conv_padding = cfg.mask_conv_padding
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(hidden, hidden, k, padding=k // 2, groups=hidden),
                nn.Conv1d(hidden, width, 1),
                nn.BatchNorm1d(width),
                nn.GELU(),
            )
            for k, width in zip(cfg.scales, branch_widths(hidden, len(cfg.scales)), strict=True)
        )
        self.attn = nn.MultiheadAttention(
            hidden, cfg.n_heads, dropout=cfg.dropout, batch_first=True
        )
        self.proj = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x: (B, L, H); mask: (B, L) bool, True = real token
        conv_in = x.masked_fill(~mask.unsqueeze(-1), 0.0) if self.mask_conv_padding else x
        t = conv_in.transpose(1, 2)  # (B, H, L)
        ms = torch.cat([branch(t) for branch in self.branches], dim=1).transpose(1, 2)  # (B, L, H)
        attended, _ = self.attn(ms, ms, ms, key_padding_mask=~mask, need_weights=False)
        return self.norm(self.proj(attended) + x)


class DynamicFusion(nn.Module):
    """A softmax-gated sum of token-wise MLP experts; one gate per sample, shared by its tokens.

    No residual and no normalisation around it (as in the seed).
    """

    def __init__(self, hidden: int, cfg: AMSDFFConfig) -> None:
        super().__init__()
        self.masked_gate_pool = cfg.masked_gate_pool
        self.experts = nn.ModuleList(
            nn.Sequential(
                nn.Linear(hidden, hidden),
                nn.GELU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(hidden, hidden),
            )
            for _ in range(cfg.num_experts)
        )
        self.gate = nn.Linear(hidden, cfg.num_experts)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = masked_mean(x, mask) if self.masked_gate_pool else x.mean(1)  # (B, H)
        gate = torch.softmax(self.gate(pooled), dim=-1)  # (B, E)
        out = sum(
            gate[:, e, None, None] * expert(x) for e, expert in enumerate(self.experts)
        )  # (B, L, H)
        return out, gate  # type: ignore[return-value]


class AdvancedPooling(nn.Module):
    """Attention pooling, a learned-query ("CLS") cross-attention and max pooling, fused by an MLP."""

    def __init__(self, hidden: int, cfg: AMSDFFConfig) -> None:
        super().__init__()
        self.score = nn.Sequential(
            nn.Linear(hidden, hidden // 2), nn.Tanh(), nn.Linear(hidden // 2, 1)
        )
        # N(0, 1) as in the seed; a Parameter, so the init hook never touches it.
        self.cls_token = nn.Parameter(torch.randn(1, 1, hidden))
        self.cls_attn = nn.MultiheadAttention(
            hidden, cfg.n_heads, dropout=cfg.dropout, batch_first=True
        )
        self.fuse = nn.Sequential(
            nn.Linear(3 * hidden, hidden),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(hidden, hidden),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pad = ~mask  # (B, L)
        scores = self.score(x).squeeze(-1).masked_fill(pad, float("-inf"))  # (B, L)
        attn_pooled = (torch.softmax(scores, dim=-1).unsqueeze(-1) * x).sum(1)  # (B, H)
        query = self.cls_token.expand(x.shape[0], -1, -1)  # (B, 1, H)
        cls_pooled, _ = self.cls_attn(query, x, x, key_padding_mask=pad, need_weights=False)
        max_pooled = x.masked_fill(pad.unsqueeze(-1), float("-inf")).amax(1)  # (B, H)
        return self.fuse(torch.cat([attn_pooled, cls_pooled[:, 0], max_pooled], dim=-1))


class Classifier(nn.Sequential):
    """H -> H/2 -> H/4 -> C with LayerNorm, GELU and layer-dependent dropout (0.3, 0.2)."""

    def __init__(self, hidden: int, num_classes: int, dropout: tuple[float, float]) -> None:
        h2, h4 = max(hidden // 2, 1), max(hidden // 4, 1)
        super().__init__(
            nn.Linear(hidden, h2),
            nn.LayerNorm(h2),
            nn.GELU(),
            nn.Dropout(dropout[0]),
            nn.Linear(h2, h4),
            nn.LayerNorm(h4),
            nn.GELU(),
            nn.Dropout(dropout[1]),
            nn.Linear(h4, num_classes),
        )


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------


class AMSDFF(nn.Module):
    """A Hugging Face encoder followed by AMSDFF's heads; returns logits and the fusion gate."""

    def __init__(self, config: AMSDFFConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder: Any = load_encoder(  # a transformers PreTrainedModel
            config.backbone_source(),
            hf_config=config.hf_config,
            vocab_size=config.vocab_size,
            pad_token_id=config.pad_token_id,
        )
        if isinstance(getattr(self.encoder, "pooler", None), nn.Module):
            # BERT-style poolers are unused (only last_hidden_state is) and would get no gradient.
            self.encoder.pooler = None
        hidden = self._check_encoder()
        self.enhancer = FeatureEnhancer(hidden, config.dropout)
        self.multi_scale = MultiScaleAttention(hidden, config)
        self.fusion = DynamicFusion(hidden, config)
        self.pooling = AdvancedPooling(hidden, config)
        self.classifier = Classifier(hidden, config.num_classes, config.classifier_dropout)
        if config.reinit_backbone:
            self.apply(init_weights)  # the seed: recurses into the encoder too
        else:
            for head in self.heads():
                head.apply(init_weights)
        if config.freeze_backbone:
            self.encoder.requires_grad_(False)

    def _check_encoder(self) -> int:
        enc_cfg = self.encoder.config
        hidden = int(enc_cfg.hidden_size)
        if hidden % self.config.n_heads:
            raise ValueError(
                f"n_heads={self.config.n_heads} does not divide the encoder's hidden size {hidden}; "
                f"set n_heads to a divisor of {hidden}."
            )
        if len(self.config.scales) > hidden:
            raise ValueError(
                f"{len(self.config.scales)} scales need at least as many channels, got {hidden}."
            )
        max_positions = getattr(enc_cfg, "max_position_embeddings", None)
        if isinstance(max_positions, int) and self.config.max_seq_len > max_positions:
            raise ValueError(
                f"max_seq_len={self.config.max_seq_len} exceeds the encoder's max_position_embeddings="
                f"{max_positions}; set max_seq_len <= {max_positions}."
            )
        if self.config.hf_config is None and self.config.vocab_size != enc_cfg.vocab_size:
            logger.warning(
                "vocab_size=%d differs from the pretrained encoder's %d: use the encoder's own "
                "tokenizer (pretrained_tokenizer) so token ids match its embeddings.",
                self.config.vocab_size,
                enc_cfg.vocab_size,
            )
        return hidden

    def heads(self) -> list[nn.Module]:
        """The modules AMSDFF adds on top of the encoder."""
        return [self.enhancer, self.multi_scale, self.fusion, self.pooling, self.classifier]

    def train(self, mode: bool = True) -> AMSDFF:
        super().train(mode)
        if self.config.freeze_backbone:
            self.encoder.eval()  # a frozen encoder is a fixed feature extractor: no dropout
        return self

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        return_features: bool = False,
        **_: object,
    ) -> dict[str, torch.Tensor]:
        """Logits (B, C) and the gate (B, E); with ``return_features`` also the pooled (B, H)
        and sequence (B, L, H) features."""
        mask = attention_mask.bool()
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        x = self.enhancer(hidden)  # (B, L, H)
        x = self.multi_scale(x, mask)
        x, gate = self.fusion(x, mask)
        pooled = self.pooling(x, mask)  # (B, H)
        out = {"logits": self.classifier(pooled), "gate": gate}
        if return_features:
            out.update(pooled=pooled, sequence=x)
        return out


__all__ = ["AMSDFF", "AMSDFFConfig"]
