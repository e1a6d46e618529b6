"""Configs of the sequential CTR models: Mamba4Rec and BST (schema fields from :class:`CTRConfig`).

Mamba4Rec's defaults are its ML-1M settings (D 64, one layer, dropout 0.2, d_state 32, d_conv
4, expand 2) applied to a CTR history: the history is short here (the schema's
``max_history``, 20-50 events instead of 200), so nothing needs shrinking; the events are the
16-wide field embeddings of the item and its category, projected to D. BST's defaults are
FuxiCTR's (embedding 10, 2 heads, 1 block, no dropout, MLP 256-128-64).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from attnzoo.config import CTRConfig

ScanImpl = Literal["auto", "chunked", "sequential", "cuda", "mdaf_surrogate"]


class _SequenceCTRConfig(CTRConfig):
    """Fields shared by the sequential CTR models: embeddings, head, regulariser."""

    embedding_dim: int = Field(16, ge=1, description="Width of every field embedding.")
    embedding_regularizer: float = Field(
        0.01,
        ge=0,
        description="FuxiCTR's embedding_regularizer: (lambda / 2) * ||W||^2 over every "
        "embedding table, added to the BCE loss at each step (0: off).",
    )
    hidden_units: list[int] = Field(
        default_factory=lambda: [256, 128, 64],
        description="Widths of the head MLP's hidden layers (FuxiCTR's default).",
    )
    head_dropout: float = Field(0.0, ge=0, lt=1, description="Dropout after each head layer.")


class Mamba4RecConfig(_SequenceCTRConfig):
    """Mamba4Rec as a CTR model: Mamba4Rec layers over the history, field embeddings, an MLP."""

    d_model: int = Field(64, ge=1, description="Width D of the Mamba layers (Mamba4Rec: 64).")
    n_layers: int = Field(
        1, ge=1, description="Mamba layers; with one there is no residual connection."
    )
    dropout: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Mamba4Rec's dropout: after the embedding, Mamba and in the FFN.",
    )
    d_state: int = Field(32, ge=1, description="Mamba's state size N (Mamba4Rec on ML-1M: 32).")
    d_conv: int = Field(4, ge=1, description="Width of Mamba's causal depthwise convolution.")
    expand: int = Field(2, ge=1, description="Mamba's expansion E / D.")
    impl: ScanImpl = Field(
        "auto",
        description="Selective scan: auto (mamba-ssm's CUDA kernel on a GPU when installed, else "
        "the sequential PyTorch scan), chunked, sequential, cuda; mdaf_surrogate = the MDAF seed's "
        "non-scanning branch (not a state-space model; for reproducing the seed only).",
    )
    reinit_inner: bool = Field(
        False,
        description="Re-initialise Mamba's own linears with Mamba4Rec's N(0, 0.02) / zero bias, "
        "overwriting the dt-bias init, as the original's self.apply(_init_weights) does.",
    )
    pooling: Literal["last", "mean"] = Field(
        "last",
        description="History vector: the state at the last valid event (Mamba4Rec) or the mean "
        "over valid events (the MDAF seed).",
    )


class BSTConfig(_SequenceCTRConfig):
    """BST: a transformer over the history with the target appended, pooled, and an MLP."""

    embedding_dim: int = Field(
        10, ge=1, description="Width of every field embedding (FuxiCTR: 10)."
    )
    n_heads: int = Field(2, ge=1, description="Attention heads (must divide the token width).")
    n_layers: int = Field(1, ge=1, description="Transformer blocks (the paper's b = 1).")
    dropout: float = Field(
        0.0, ge=0, lt=1, description="Dropout after attention and FFN (FuxiCTR's net_dropout)."
    )
    attention_dropout: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Dropout on the attention weights (FuxiCTR's attention_dropout).",
    )
    variant: Literal["fuxictr", "mdaf"] = Field(
        "fuxictr",
        description="fuxictr: target appended, learned positions (sinusoid init) concatenated, "
        "LeakyReLU FFN, mean pooling; mdaf: the MDAF seed's (item history only, sinusoids added, "
        "post-LN ReLU FFN, unscaled dot-product target pooling).",
    )

    @model_validator(mode="after")
    def _heads_divide_width(self) -> Self:
        if not self.sequence_fields:
            return self  # filled in from the schema; the model checks again
        if self.variant == "fuxictr":
            width = self.embedding_dim * (len(self.sequence_fields) + 1)
        else:
            width = self.embedding_dim
        if width % self.n_heads:
            raise ValueError(
                f"BST's token width {width} (embedding_dim={self.embedding_dim}, variant "
                f"{self.variant!r}) is not divisible by n_heads={self.n_heads}"
            )
        return self
