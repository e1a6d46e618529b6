"""Configurations of the PolaFormer and DSP-Attention classifiers (text and image).

The attention fields are declared once (``PolaArch``, ``DSPArch``) and combined with the
input-side fields: :class:`attnzoo.config.TextClassifierConfig` for token sequences,
:class:`attnzoo.config.ImageClassifierConfig` (``image_size``, ``in_channels``, ``num_classes``)
plus ``patch_size`` for patch grids. Field names of
the encoder (``d_model``, ``n_heads``, ``n_layers``, ``d_ff``) are the softmax transformer
baseline's, so one ``--set`` line configures all three models alike.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from attnzoo.config import ImageClassifierConfig, ModelConfig, TextClassifierConfig


class PolaArch(ModelConfig):
    """Encoder and attention fields of a PolaFormer model (defaults: the transformer's base256)."""

    d_model: int = Field(256, ge=4, description="Width C of the token representations.")
    n_heads: int = Field(
        4, ge=1, description="Attention heads h; d = d_model / h must be an even integer."
    )
    n_layers: int = Field(4, ge=1, description="Number of pre-LN blocks.")
    d_ff: int = Field(1024, ge=1, description="Hidden width of each block's MLP (fc-GELU-fc).")
    dropout: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="Dropout on embeddings, the MLP, the attention output (proj_drop) and the pooled vector.",
    )
    drop_path: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Stochastic-depth rate of the last block (linearly increasing from 0, as in PVT).",
    )
    norm_eps: float = Field(1e-6, gt=0, description="LayerNorm epsilon (PVT: 1e-6).")
    qkv_bias: bool = Field(True, description="Bias in the q/g and k/v projections.")
    kernel_size: int = Field(
        5, ge=1, description="Depthwise-convolution kernel on v (odd: the length is kept)."
    )
    alpha: float = Field(
        4.0, gt=0, description="Power range: p = 1 + alpha * sigmoid(w) lies in (1, 1 + alpha)."
    )
    kernel: Literal["torch", "flash_bla"] = Field(
        "torch",
        description="Linear-attention kernel: 'torch' (matmuls, any device) or 'flash_bla' "
        "(fla-org's non-causal fused Triton kernel, CUDA only, installed from its repository).",
    )

    @model_validator(mode="after")
    def _check_shapes(self) -> PolaArch:
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}; pick n_heads "
                f"among {[h for h in range(1, 17) if self.d_model % h == 0]}."
            )
        if (self.d_model // self.n_heads) % 2:
            raise ValueError(
                f"head width d = d_model / n_heads = {self.d_model // self.n_heads} must be even: the "
                f"value is split into two halves (same- and opposite-signed streams). Change d_model or n_heads."
            )
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size={self.kernel_size} must be odd (padding kernel_size // 2 keeps the length)."
            )
        return self


class DSPArch(PolaArch):
    """DSP-Attention's fields on top of the shared encoder (defaults: the seed README's)."""

    n_heads: int = Field(
        8, ge=1, description="Attention heads h (seed default 8); d = d_model / h must be even."
    )
    qkv_bias: bool = Field(
        False, description="Bias in the per-scale qkv projections (seed: False)."
    )
    spectral_modes: int = Field(
        16,
        ge=1,
        description="Kept Fourier modes M along tokens (non-negative frequencies) and along channels.",
    )
    num_scales: int = Field(
        3, ge=1, le=6, description="Hierarchical scales S (token pooling by 2^s, s < S)."
    )
    context: Literal["mean", "seed"] = Field(
        "mean",
        description="Per-head scale coefficients from: 'mean' the masked token mean (linear time); "
        "'seed' mean + BiLSTM + softmax self-attention, as the seed (O(N^2) and sequential in N).",
    )
    scale_mixer: Literal["softmax", "grad_ema"] = Field(
        "softmax",
        description="'softmax': learnable softmax over all S scales; 'grad_ema': that softmax "
        "re-weighted by an EMA of each scale output's gradient norm (recorded by a backward hook).",
    )
    adaptive_beta: float = Field(
        0.1, gt=0, le=1, description="EMA rate of the gradient norms (scale_mixer='grad_ema')."
    )
    temperature: Literal["inside", "none"] = Field(
        "inside",
        description="'inside': per-scale softplus temperature divides q, k before the power map (so it "
        "acts); 'none': no temperature (the seed's division after the power map cancels exactly).",
    )
    power: Literal["seed", "pola"] = Field(
        "seed",
        description="Per-scale channel powers: 'seed' p = 1 + |w| (unbounded); 'pola' p = 1 + alpha * "
        "sigmoid(w) in (1, 1 + alpha). Both start at p = 1 + 1/2^s. alpha is used only by 'pola'.",
    )

    @model_validator(mode="after")
    def _check_power(self) -> DSPArch:
        if self.power == "pola" and self.alpha <= 1:
            raise ValueError(
                f"power='pola' needs alpha > 1 (p starts at 2 on the first scale), got alpha={self.alpha}."
            )
        return self


class PolaConfig(TextClassifierConfig, PolaArch):
    """PolaFormer text / token-sequence classifier (:class:`attnzoo_dsp.model.PolaClassifier`)."""

    positions: Literal["learned", "none"] = Field(
        "learned", description="Learned absolute position embeddings on the tokens, or none."
    )


class DSPConfig(TextClassifierConfig, DSPArch):
    """DSP-Attention text / token-sequence classifier (:class:`attnzoo_dsp.model.DSPClassifier`)."""

    positions: Literal["learned", "none"] = Field(
        "learned", description="Learned absolute position embeddings on the tokens, or none."
    )


class _PatchFields(ImageClassifierConfig):
    patch_size: int = Field(
        4,
        ge=1,
        description="Side of the square, non-overlapping patches (PVT: 4); images whose side is not a "
        "multiple are zero-padded on the right and bottom.",
    )

    @property
    def grid(self) -> tuple[int, int]:
        """Patch grid (H', W') = ceil(image_size / patch_size) on each side."""
        side = -(-self.image_size // self.patch_size)
        return side, side


class PolaImageConfig(_PatchFields, PolaArch):
    """PolaFormer image classifier over patch embeddings (:class:`attnzoo_dsp.model.PolaImageClassifier`)."""


class DSPImageConfig(_PatchFields, DSPArch):
    """DSP-Attention image classifier over patch embeddings (:class:`attnzoo_dsp.model.DSPImageClassifier`)."""
