"""PolaFormer and DSP-Attention classifiers: token sequences (text, LRA) and image patches.

Every model is the PVT block stack around one attention kind: pre-LN blocks
``x += DropPath(attn(LN(x)))``, ``x += DropPath(MLP(LN(x)))`` with an fc-GELU-drop-fc-drop MLP,
a final LayerNorm, mean pooling over real tokens and a linear head. Text models embed tokens
(+ learned positions); image models embed non-overlapping patches (Conv2d + LayerNorm, as
PVT's patch embedding, + learned positions) and run the 2-D form of the attention on the grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from attnzoo_dsp.config import (
    DSPArch,
    DSPConfig,
    DSPImageConfig,
    PolaArch,
    PolaConfig,
    PolaImageConfig,
)
from attnzoo_dsp.dsp_layers import DSPAttention, masked_mean_tokens
from attnzoo_dsp.layers import PolaLinearAttention, trunc_normal_init


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth: drop the whole residual branch per sample, rescale the rest."""
    if rate == 0.0 or not training:
        return x
    keep = x.new_empty(x.shape[0], *([1] * (x.dim() - 1))).bernoulli_(1 - rate)
    return x * keep / (1 - rate)


def make_attention(config: PolaArch, ndim: int, max_len: int) -> nn.Module:
    if isinstance(config, DSPArch):
        return DSPAttention(
            config.d_model,
            config.n_heads,
            ndim=ndim,
            qkv_bias=config.qkv_bias,
            proj_drop=config.dropout,
            kernel_size=config.kernel_size,
            spectral_modes=config.spectral_modes,
            num_scales=config.num_scales,
            context=config.context,
            scale_mixer=config.scale_mixer,
            adaptive_beta=config.adaptive_beta,
            temperature=config.temperature,
            power=config.power,
            alpha=config.alpha,
            kernel=config.kernel,
        )
    return PolaLinearAttention(
        config.d_model,
        config.n_heads,
        max_len,
        ndim=ndim,
        qkv_bias=config.qkv_bias,
        proj_drop=config.dropout,
        kernel_size=config.kernel_size,
        alpha=config.alpha,
        kernel=config.kernel,
    )


class Block(nn.Module):
    """PVT pre-LN block around a PolaFormer or DSP attention."""

    def __init__(self, config: PolaArch, ndim: int, max_len: int, drop_path_rate: float) -> None:
        super().__init__()
        c = config.d_model
        self.norm1 = nn.LayerNorm(c, eps=config.norm_eps)
        self.attn = make_attention(config, ndim, max_len)
        self.norm2 = nn.LayerNorm(c, eps=config.norm_eps)
        self.mlp = nn.Sequential(
            nn.Linear(c, config.d_ff),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.d_ff, c),
            nn.Dropout(config.dropout),
        )
        self.drop_path_rate = drop_path_rate

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, grid: tuple[int, int] | None
    ) -> torch.Tensor:
        x = x + drop_path(self.attn(self.norm1(x), mask, grid), self.drop_path_rate, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path_rate, self.training)


class Encoder(nn.Module):
    """``n_layers`` blocks (drop-path rates rising linearly to ``drop_path``) + final LayerNorm."""

    def __init__(self, config: PolaArch, ndim: int, max_len: int) -> None:
        super().__init__()
        n = config.n_layers
        rates = [config.drop_path * i / max(1, n - 1) for i in range(n)]
        self.blocks = nn.ModuleList(Block(config, ndim, max_len, r) for r in rates)
        self.norm = nn.LayerNorm(config.d_model, eps=config.norm_eps)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, grid: tuple[int, int] | None = None
    ) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask, grid)
        return self.norm(x)


class _SequenceClassifier(nn.Module):
    """Token embedding (+ learned positions), the encoder, masked mean pooling, linear head."""

    def __init__(self, config: PolaConfig | DSPConfig) -> None:
        super().__init__()
        self.config = config
        c = config.d_model
        self.tok_emb = nn.Embedding(config.vocab_size, c, padding_idx=config.pad_token_id)
        self.pos_emb = (
            nn.Parameter(torch.zeros(1, config.max_seq_len, c))
            if config.positions == "learned"
            else None
        )
        self.drop = nn.Dropout(config.dropout)
        self.encoder = Encoder(config, ndim=1, max_len=config.max_seq_len)
        self.head = nn.Linear(c, config.num_classes)
        self.apply(trunc_normal_init)
        nn.init.normal_(self.tok_emb.weight, std=0.02)
        with torch.no_grad():
            self.tok_emb.weight[config.pad_token_id].zero_()
        if self.pos_emb is not None:
            nn.init.trunc_normal_(self.pos_emb, std=0.02)

    def hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, L, C) after the final LayerNorm."""
        n = input_ids.shape[1]
        if n > self.config.max_seq_len:
            raise ValueError(
                f"Input length {n} exceeds max_seq_len={self.config.max_seq_len}; truncate the "
                f"input or build the model with a larger max_seq_len."
            )
        x = self.tok_emb(input_ids)
        if self.pos_emb is not None:
            x = x + self.pos_emb[:, :n]
        return self.encoder(self.drop(x), attention_mask.bool())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object) -> dict:
        h = self.hidden_states(input_ids, attention_mask)
        pooled = masked_mean_tokens(h, attention_mask.bool())
        return {"logits": self.head(self.drop(pooled))}


class PolaClassifier(_SequenceClassifier):
    """PolaFormer text / token-sequence classifier (polarity-aware linear attention, masked)."""

    def __init__(self, config: PolaConfig) -> None:
        super().__init__(config)


class DSPClassifier(_SequenceClassifier):
    """DSP-Attention text / token-sequence classifier."""

    def __init__(self, config: DSPConfig) -> None:
        super().__init__(config)


class PatchEmbed(nn.Module):
    """Non-overlapping patches: Conv2d(in, C, p, stride p) + LayerNorm (PVT) -> (B, N, C), grid."""

    def __init__(self, in_channels: int, dim: int, patch_size: int, eps: float) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        p, (h, w) = self.patch_size, pixels.shape[-2:]
        pixels = F.pad(pixels, (0, -w % p, 0, -h % p))  # zero-pad to a multiple of p
        x = self.proj(pixels)  # (B, C, ceil(H/p), ceil(W/p))
        grid = (x.shape[-2], x.shape[-1])
        return self.norm(x.flatten(2).transpose(1, 2)), grid


class _ImageClassifier(nn.Module):
    """Patch embedding + positions, the 2-D encoder, mean pooling, linear head."""

    def __init__(self, config: PolaImageConfig | DSPImageConfig) -> None:
        super().__init__()
        self.config = config
        c, (gh, gw) = config.d_model, config.grid
        self.patch_embed = PatchEmbed(config.in_channels, c, config.patch_size, config.norm_eps)
        self.pos_emb = nn.Parameter(torch.zeros(1, gh * gw, c))
        self.drop = nn.Dropout(config.dropout)
        self.encoder = Encoder(config, ndim=2, max_len=gh * gw)
        self.head = nn.Linear(c, config.num_classes)
        self.apply(trunc_normal_init)
        nn.init.trunc_normal_(self.pos_emb, std=0.02)

    def forward(self, pixel_values: torch.Tensor, **_: object) -> dict:
        size = self.config.image_size
        if pixel_values.shape[1:] != (self.config.in_channels, size, size):
            raise ValueError(
                f"pixel_values must be (B, {self.config.in_channels}, {size}, {size}), got "
                f"{tuple(pixel_values.shape)}; resize the images or set image_size / in_channels."
            )
        x, grid = self.patch_embed(pixel_values)
        h = self.encoder(self.drop(x + self.pos_emb), None, grid)
        return {"logits": self.head(self.drop(h.mean(1)))}


class PolaImageClassifier(_ImageClassifier):
    """PolaFormer image classifier (2-D depthwise convolution on the patch grid)."""

    def __init__(self, config: PolaImageConfig) -> None:
        super().__init__(config)


class DSPImageClassifier(_ImageClassifier):
    """DSP-Attention image classifier (2-D multi-kernel convolution on the patch grid)."""

    def __init__(self, config: DSPImageConfig) -> None:
        super().__init__(config)
