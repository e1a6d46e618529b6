"""Configs of the static CTR models: DCNv3 and MDAF (schema fields from :class:`CTRConfig`).

DCNv3's defaults are the official ones (FuxiCTR ``model_zoo/DCNv3``, Criteo's best: 16-wide
embeddings, ECN 3 and LCN 4 layers, dropout 0.1 / 0.2, LayerNorm in the self-mask, one head,
Tri-BCE). MDAF's branches default to those standalone models' own defaults (DCNv3 above, Mamba4Rec's
one layer of 64 with state 32 and last-event pooling, FuxiCTR's BST), so "MDAF vs its
branches" compares the same parts with and without the fusion; the fusion and head are the
seed's (gate and head dropout 0.2, head 128-64). The ``seed`` presets restore the seed's sizes
(3 + 3 cross layers without dropout, 128 wide, two blocks of state 16, mean pooling).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from attnzoo.config import CTRConfig

ScanImpl = Literal["auto", "chunked", "sequential", "cuda", "mdaf_surrogate"]


class _CrossConfig(CTRConfig):
    """DCNv3's embedding and cross networks (shared by DCNv3 and MDAF's static branch)."""

    embedding_dim: int = Field(16, ge=2, description="Width E of a field embedding per head.")
    num_heads: int = Field(
        1, ge=1, description="Heads H: each field embeds to E*H, split into H heads of width E."
    )
    num_deep_cross_layers: int = Field(3, ge=1, description="ECN (exponential) cross layers.")
    num_shallow_cross_layers: int = Field(4, ge=1, description="LCN (linear) cross layers.")
    deep_net_dropout: float = Field(0.1, ge=0, lt=1, description="Dropout after each ECN layer.")
    shallow_net_dropout: float = Field(0.2, ge=0, lt=1, description="Dropout after each LCN layer.")
    layer_norm: bool = Field(
        True, description="Self-mask m = c * ReLU(LayerNorm(c)); false: m = c * ReLU(c)."
    )
    batch_norm: bool = Field(
        False, description="BatchNorm1d over the head axis after each cross layer's W."
    )
    embedding_regularizer: float = Field(
        0.01,
        ge=0,
        description="FuxiCTR's embedding_regularizer: (lambda / 2) * ||W||^2 over every "
        "embedding table, added to the loss at each step (0: off).",
    )

    @model_validator(mode="after")
    def _even_embedding(self) -> Self:
        if self.embedding_dim % 2:
            raise ValueError(
                f"embedding_dim={self.embedding_dim} must be even: DCNv3 splits every field "
                "embedding into two halves (c hits the first halves, Mask(c) the second)."
            )
        return self


class DCNv3Config(_CrossConfig):
    """DCNv3 (Li et al. 2024): ECN and LCN over multi-head field embeddings, Tri-BCE."""

    tri_bce: bool = Field(
        True,
        description="Tri-BCE: L + w_D * L_D + w_S * L_S (official). False: BCE on the averaged "
        "logit only, as FuxiCTR 2.0.2-2.3.3 silently ran it (issue #122).",
    )
    detach_tri_bce_weights: bool = Field(
        False,
        description="Treat w_D, w_S as constants (MDAF's .item()); the official code keeps "
        "them as tensors, so they carry gradient.",
    )


class MDAFConfig(_CrossConfig):
    """MDAF: a DCNv3 static branch and a sequential branch, fused by a learned gate."""

    d_model: int = Field(
        64,
        ge=1,
        description="Fusion width (h_static, h_seq, the gate's hidden layer) and the Mamba "
        "layers' width (Mamba4Rec: 64; the seed: 128).",
    )
    static_dropout: float = Field(
        0.2, ge=0, lt=1, description="Dropout of the static projection Linear -> ReLU -> Dropout."
    )
    seq_branch: Literal["mamba", "bst"] = Field(
        "mamba", description="Sequential branch: Mamba4Rec layers or BST."
    )
    mamba_impl: ScanImpl = Field(
        "auto",
        description="Mamba scan: auto|chunked|sequential|cuda; mdaf_surrogate = the seed's "
        "non-scanning branch (NOT a state-space model; for reproducing the seed only).",
    )
    mamba_layers: int = Field(
        1, ge=1, description="Mamba layers (one layer: no residual; the seed: 2)."
    )
    mamba_dropout: float = Field(0.2, ge=0, lt=1, description="Mamba4Rec's dropout.")
    d_state: int = Field(32, ge=1, description="Mamba's state size N (the seed: 16).")
    d_conv: int = Field(4, ge=1, description="Width of Mamba's causal depthwise convolution.")
    expand: int = Field(2, ge=1, description="Mamba's expansion E / D.")
    reinit_inner: bool = Field(
        False, description="Mamba4Rec's N(0, 0.02) re-init of Mamba's own linears (dt bias 0)."
    )
    pooling: Literal["mean", "last"] = Field(
        "last",
        description="Mamba history vector: the last valid event's state (Mamba4Rec) or the mean "
        "over valid events (the seed).",
    )
    bst_variant: Literal["fuxictr", "mdaf"] = Field(
        "fuxictr", description="BST branch: FuxiCTR's, or the seed's (see attnzoo_mdaf.branches)."
    )
    bst_heads: int = Field(2, ge=1, description="BST attention heads (FuxiCTR: 2; the seed: 4).")
    bst_layers: int = Field(
        1, ge=1, description="BST transformer blocks (FuxiCTR: 1; the seed: 2)."
    )
    bst_dropout: float = Field(
        0.0, ge=0, lt=1, description="BST dropout (FuxiCTR: 0; the seed: 0.1)."
    )
    gate_dropout: float = Field(0.2, ge=0, lt=1, description="Dropout inside the gate MLP.")
    head_units: list[int] = Field(
        default_factory=lambda: [128, 64], description="Hidden widths of the prediction head."
    )
    head_dropout: float = Field(0.2, ge=0, lt=1, description="Dropout in the prediction head.")
    aux_heads: bool = Field(
        False,
        description="Tri-BCE auxiliary heads: a logit from h_static and one from h_seq, each "
        "weighted by max(0, L_aux - L) (off in the seed).",
    )
