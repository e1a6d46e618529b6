"""Configuration of the ATRT classifier.

What the ATRT README states (and is therefore *not* reconstructed): the three attention zones,
split by the mean (mu) and standard deviation (sigma) of the attention weights at
mu + 1.5 sigma and mu, with top-down decay 1.30 -> 1.25 in the high zone, Gaussian-centred
smoothing 1.10 -> 1.15 in the moderate zone and 1.0 elsewhere; Embedding + "dynamic"
positional encoding; encoder layers of attention, LayerNorm, dropout and FFN; global average
pooling; a Dense head.

Everything else is a reconstruction (the original notebook is not public) and is marked
``[reconstructed]`` in the field descriptions: widths, depth, heads, the FFN size, post-LN,
the Gaussian's centre and width, the importance statistic, the summarisation profile, and the
multi-class softmax head (the seed's binary sigmoid head is its 2-class special case).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from attnzoo.config import TextClassifierConfig


class ATRTConfig(TextClassifierConfig):
    """ATRT: a small post-LN transformer encoder whose attention rescales tokens by zone.

    Defaults are the classification variant of the spec (``atrt`` preset). ``attention="plain"``
    gives the identical network with ordinary multi-head attention (the seed's
    "Base Transformer").
    """

    max_seq_len: int = Field(
        256,
        ge=1,
        description="Longest input; the trainer truncates to it. [reconstructed: the spec's "
        "TextVectorization output length 200-256]",
    )
    d_model: int = Field(
        128, ge=1, description="Width of embeddings and of every layer. [reconstructed]"
    )
    n_heads: int = Field(
        4, ge=1, description="Attention heads per layer. [reconstructed: spec gives 4 to 8]"
    )
    n_layers: int = Field(2, ge=1, description="Encoder layers. [reconstructed]")
    d_ff: int = Field(
        256,
        ge=1,
        description="Hidden width of the ReLU feed-forward block. [reconstructed: 2 x d_model, the "
        "lighter of the spec's two readings (2D or 4D)]",
    )
    dropout: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="Dropout after the embedding, each sub-layer and before the head. [reconstructed]",
    )
    attention_dropout: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="Dropout on the (rescaled) attention weights. [reconstructed: not mentioned, off]",
    )
    scale_embeddings: bool = Field(
        True,
        description="Multiply token embeddings by sqrt(d_model) before adding the sinusoidal "
        "positions (as in Vaswani et al.). [reconstructed]",
    )
    attention: Literal["atrt", "plain"] = Field(
        "atrt",
        description="'atrt': zone-scaled attention; 'plain': ordinary softmax attention (the Base "
        "Transformer of the seed's table).",
    )
    statistic: Literal["importance", "all"] = Field(
        "importance",
        description="Where mu and sigma come from, per sequence and head: 'importance' = the "
        "importance r_j of the valid tokens; 'all' = every valid entry A_ij of the attention matrix "
        "(the other reading of the README's 'global mean and std of attention weights'). Tokens "
        "are zoned by r_j either way. [reconstructed]",
    )
    high_threshold_std: float = Field(
        1.5, description="High zone: r_j > mu + high_threshold_std * sigma. [stated: 1.5]"
    )
    high_max: float = Field(
        1.30, gt=0, description="Scale of the most important high-zone token. [stated: 1.30]"
    )
    high_min: float = Field(
        1.25, gt=0, description="Scale of the least important high-zone token. [stated: 1.25]"
    )
    moderate_threshold_std: float = Field(
        0.0,
        description="Moderate zone: mu + moderate_threshold_std * sigma < r_j <= the high threshold. "
        "[stated: 0, i.e. the mean]",
    )
    moderate_low: float = Field(
        1.10, gt=0, description="Gaussian floor of the moderate zone. [stated: 1.10]"
    )
    moderate_high: float = Field(
        1.15, gt=0, description="Gaussian peak of the moderate zone. [stated: 1.15]"
    )
    gaussian_center: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Centre of the moderate-zone Gaussian as a fraction of the zone's width "
        "(0.5: the middle, mu + 0.75 sigma with the default thresholds). [reconstructed]",
    )
    gaussian_width: float = Field(
        0.5,
        gt=0.0,
        description="Standard deviation of the moderate-zone Gaussian as a fraction of the zone's "
        "width (0.5: 0.75 sigma with the default thresholds). [reconstructed]",
    )
    baseline_scale: float = Field(
        1.0, gt=0, description="Scale of every other valid token. [stated: 1.0]"
    )

    @model_validator(mode="after")
    def _check(self) -> ATRTConfig:
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}); "
                f"pick n_heads among the divisors of d_model."
            )
        if self.high_min > self.high_max:
            raise ValueError(
                f"high_min ({self.high_min}) must not exceed high_max ({self.high_max}): "
                f"the high zone decays from high_max (top token) to high_min."
            )
        if self.moderate_low > self.moderate_high:
            raise ValueError(
                f"moderate_low ({self.moderate_low}) must not exceed moderate_high "
                f"({self.moderate_high}): the Gaussian rises from moderate_low to moderate_high."
            )
        if self.moderate_threshold_std >= self.high_threshold_std:
            raise ValueError(
                f"moderate_threshold_std ({self.moderate_threshold_std}) must be below "
                f"high_threshold_std ({self.high_threshold_std}), or the moderate zone is empty."
            )
        return self
