"""Configuration of the attention-free diffusion classifier (pbanavara/attention-free-diffusion)."""

from __future__ import annotations

from pydantic import Field, model_validator

from attnzoo.config import TextClassifierConfig


class DiffusionConfig(TextClassifierConfig):
    """Hyper-parameters of :class:`attnzoo_diffusion.model.DiffusionClassifier`.

    Defaults are the seed's ``run_experiment`` (``attention_free_diffusion_improved.py``):
    D = 256, T = 4, alpha = 0.5, train-only noise 0.05, dropout 0.1, xavier gain 0.02,
    circular neighbours, padding taking part in the diffusion, inputs up to 4096 tokens.
    """

    d_model: int = Field(256, ge=1, description="Embedding / state width D (the seed's embed_dim).")
    num_iters: int = Field(
        4, ge=1, description="Diffusion steps T; the weights are shared by every step."
    )
    alpha: float = Field(
        0.5, ge=0.0, le=1.0, description="Residual weight: h <- LN(alpha*h + (1-alpha)*MLP(...))."
    )
    noise_std: float = Field(
        0.05,
        ge=0.0,
        description="Std of the Gaussian noise added to the embeddings in training only.",
    )
    dropout: float = Field(
        0.1, ge=0.0, lt=1.0, description="Dropout inside the update MLP and the classifier head."
    )
    init_gain: float = Field(
        0.02, gt=0.0, description="xavier_normal_ gain of every Linear (the seed's tiny 0.02)."
    )
    circular: bool = Field(
        True,
        description="Neighbours wrap around the sequence (position 0 sees L-1), as in the seed. "
        "Ignored (always non-circular) when mask_in_diffusion is on.",
    )
    mask_in_diffusion: bool = Field(
        False,
        description="Zero padded positions before every step and use non-circular shifts, so padding never "
        "reaches real tokens. Off by default: in the seed pads take full part and the mask only enters pooling.",
    )
    recompute: bool = Field(
        False,
        description="Activation checkpointing of each step in the backward pass: stores one (B, L, D) state per "
        "step instead of all intermediates, at the cost of one extra forward.",
    )
    fused: bool = Field(
        True,
        description="Efficient path (one (D, 3D) matmul, shifted outputs, hand-written backward). False: the "
        "seed-style reference (three Linear layers on rolled copies). Same weights, same outputs.",
    )
    max_seq_len: int = Field(
        4096, ge=1, description="Longest input; the model has no positions, this only plans memory."
    )

    @model_validator(mode="after")
    def _check_shift_mode(self) -> DiffusionConfig:
        if self.mask_in_diffusion and self.circular and "circular" in self.model_fields_set:
            raise ValueError(
                "circular=True contradicts mask_in_diffusion=True (masked mode always uses non-circular shifts, "
                "otherwise position 0 would see the last real token of an unpadded row). Drop circular=True "
                "or set mask_in_diffusion=False."
            )
        return self

    @property
    def uses_circular_shift(self) -> bool:
        """Whether the neighbour shift wraps around (never in masked mode)."""
        return self.circular and not self.mask_in_diffusion
