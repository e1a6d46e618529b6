"""A from-scratch pre-LN transformer encoder classifier: the softmax-attention baseline.

Blocks follow the pre-LN layout (Xiong et al., 2020, "On Layer Normalization in the
Transformer Architecture"): ``x + Attn(LN(x))`` then ``x + MLP(LN(x))``, with a final LayerNorm.
Attention is either torch's fused ``scaled_dot_product_attention`` (``attn_impl="sdpa"``) or the
textbook version that materialises the (B, H, L, L) softmax matrix (``attn_impl="eager"``); with
the same weights both give the same outputs, so the choice changes only speed and memory.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from attnzoo.nn.pooling import masked_mean
from attnzoo_baselines.config import TransformerConfig


def sinusoidal_table(n_positions: int, d_model: int) -> torch.Tensor:
    """The fixed sin/cos position table of Vaswani et al. (2017) -> (n_positions, d_model)."""
    pos = torch.arange(n_positions, dtype=torch.float32).unsqueeze(1)  # (P, 1)
    freq = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
    )
    table = torch.zeros(n_positions, d_model)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: d_model // 2])  # odd d_model: one fewer cos column
    return table


class SelfAttention(nn.Module):
    """Multi-head self-attention with a key-padding mask; sdpa or eager."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.impl = config.attn_impl
        self.attn_dropout = config.attn_dropout
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.out = nn.Linear(config.d_model, config.d_model)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """``x`` (B, L, D); ``key_mask`` (B, 1, 1, L) bool, True where a key may be attended."""
        b, n, d = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.n_heads, self.head_dim)  # (B, L, 3, H, Dh)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (B, H, L, Dh)
        p = self.attn_dropout if self.training else 0.0
        if self.impl == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, dropout_p=p)
        else:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # (B, H, L, L)
            scores = scores.masked_fill(~key_mask, float("-inf"))
            probs = F.dropout(scores.softmax(-1), p=p, training=self.training)
            y = probs @ v  # (B, H, L, Dh)
        y = y.transpose(1, 2).reshape(b, n, d)  # (B, L, D)
        return self.out(y)


class Block(nn.Module):
    """Pre-LN encoder block: attention and MLP residual branches."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model, eps=config.norm_eps)
        self.attn = SelfAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model, eps=config.norm_eps)
        self.mlp = nn.Sequential(
            nn.Linear(config.d_model, config.d_ff),
            nn.GELU(),
            nn.Linear(config.d_ff, config.d_model),
        )
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), key_mask))
        return x + self.drop(self.mlp(self.ln2(x)))


class TransformerClassifier(nn.Module):
    """Token embedding + positions, ``n_layers`` pre-LN blocks, final LN, pooling, linear head.

    Padding is masked as attention keys and excluded from mean pooling, so appending padding
    to a sequence does not change its logits. With ``pooling="cls"`` a learned vector is
    prepended to every sequence (it takes position 0, real tokens start at 1).
    """

    pos_table: torch.Tensor  # sinusoidal positions only (a non-persistent buffer)

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.use_cls = config.pooling == "cls"
        n_positions = config.max_seq_len + int(self.use_cls)
        self.tok_emb = nn.Embedding(
            config.vocab_size, config.d_model, padding_idx=config.pad_token_id
        )
        if config.positions == "learned":
            self.pos_emb: nn.Embedding | None = nn.Embedding(n_positions, config.d_model)
        else:
            self.pos_emb = None
            # not persistent: recomputed from the config, so it never enters a checkpoint
            self.register_buffer(
                "pos_table", sinusoidal_table(n_positions, config.d_model), persistent=False
            )
        self.cls = nn.Parameter(torch.zeros(config.d_model)) if self.use_cls else None
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.norm_eps)
        self.head = nn.Linear(config.d_model, config.num_classes)
        self.apply(self._init_weights)
        if self.cls is not None:
            nn.init.normal_(self.cls, std=0.02)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # GPT/BERT-style N(0, 0.02) init; the padding row stays zero.
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object) -> dict:
        b, n = input_ids.shape
        if n > self.config.max_seq_len:
            raise ValueError(
                f"Input length {n} exceeds max_seq_len={self.config.max_seq_len}; truncate the "
                f"input or build the model with a larger max_seq_len."
            )
        mask = attention_mask.bool()  # (B, L)
        x = self.tok_emb(input_ids)  # (B, L, D)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(b, 1, -1), x], dim=1)  # (B, 1 + L, D)
            mask = torch.cat([mask.new_ones(b, 1), mask], dim=1)  # (B, 1 + L)
        total = x.shape[1]
        if self.pos_emb is not None:
            x = x + self.pos_emb.weight[:total]
        else:
            x = x + self.pos_table[:total].to(x.dtype)
        x = self.drop(x)
        # A row with no real token would softmax over nothing (NaN); let it attend everywhere.
        key_mask = mask | ~mask.any(1, keepdim=True)
        key_mask = key_mask[:, None, None, :]  # (B, 1, 1, L): broadcast over heads and queries
        for block in self.blocks:
            x = block(x, key_mask)
        x = self.ln_f(x)
        pooled = x[:, 0] if self.cls is not None else masked_mean(x, mask)  # (B, D)
        return {"logits": self.head(self.drop(pooled))}
